package importer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The table of rows keeps every field of a row's state, on disk, and rows
// never written read as pending.
func TestRowTable(t *testing.T) {
	tab, err := newRowTable(t.TempDir(), 5)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.close()
	long := strings.Repeat("x", idMax+10)
	want := map[int]rowState{
		1: {state: stateDone, id: "opp00000000000000001", new: true},
		2: {state: stateFailed, msg: "422 Unprocessable Entity: pipelineId is invalid", status: 422},
		3: {state: stateUnknown, msg: "the import stopped while this create was in flight"},
		4: {state: stateDone, id: long},
	}
	for n, s := range want {
		tab.set(n, s)
	}
	tab.set(2, rowState{state: stateFailed, msg: "second failure", status: 500}) // the last event wins
	want[2] = rowState{state: stateFailed, msg: "second failure", status: 500}
	for n := 1; n <= 5; n++ {
		if got := tab.get(n); got != want[n] {
			t.Errorf("row %d: %+v, want %+v", n, got, want[n])
		}
		if got := tab.state(n); got != want[n].state {
			t.Errorf("row %d: state %d in memory, want %d", n, got, want[n].state)
		}
	}
	if tab.err != nil {
		t.Error(tab.err)
	}
}

// Rows set in any order, far apart, read back as set, and rows never set
// as pending: the blocks in memory go out to the file and come back.
func TestRowTableBlocks(t *testing.T) {
	const rows = blockRecs * cachedBlocks * 3
	tab, err := newRowTable(t.TempDir(), rows)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.close()
	want := func(n int) rowState {
		if n%3 == 0 {
			return rowState{}
		}
		return rowState{state: stateDone, id: fmt.Sprintf("opp%d", n), new: n%2 == 0}
	}
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(rows) {
		if n := i + 1; n%3 != 0 {
			tab.set(n, want(n))
		}
	}
	for n := rows; n >= 1; n-- { // backwards: every block comes back from the file
		if got := tab.get(n); got != want(n) {
			t.Fatalf("row %d: %+v, want %+v", n, got, want(n))
		}
	}
	if tab.err != nil {
		t.Error(tab.err)
	}
}
