package importer

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A journal line is the bytes json.Marshal gives for the event, whichever
// way it was written.
func FuzzAppendEvent(f *testing.F) {
	f.Add(7, "started", "", false, "", 0, "")
	f.Add(7, "done", "opp00000000000000001", true, "", 0, "")
	f.Add(8, "failed", "", false, "422 Unprocessable Entity: \"pipelineId\" <is> invalid & more", 422, "")
	f.Add(9, "unknown", "", false, "", 0, "it may have been applied\n\xff")
	f.Add(-1, "pending", "é", false, "", -3, "a\\b")
	for _, c := range []string{"<", ">", "&", "\"", "\\", "\x1f", "\x7f", "\u2028"} {
		f.Add(10, "failed", "", false, "a"+c+"b", 500, "") // each escaped on its own
	}
	f.Fuzz(func(t *testing.T, row int, ev, id string, isNew bool, msg string, status int, reason string) {
		e := event{Row: row, Ev: ev, ID: id, New: isNew, Error: msg, Status: status, Reason: reason}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEvent([]byte("x"), e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("appendEvent(%+v) = %s, want x%s", e, got, want)
		}
	})
}

// Starts side by side share fsyncs, at most one per commitEvery; a worker
// or two starting rows one after the other, each row's outcome appended
// before the next start, get an fsync each at once.
func TestJournalGroupCommit(t *testing.T) {
	j, err := openJournal(filepath.Join(t.TempDir(), "j"), &journalHeader{Journal: journalVersion}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	for _, workers := range []int{1, 2} {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range 20 {
					row := 1000*workers + 100*w + i
					if err := j.started(row); err != nil {
						t.Error(err)
					}
					if err := j.append(event{Row: row, Ev: "done", ID: "opp1"}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if j.waits != 0 {
			t.Fatalf("%d workers starting rows one after the other: %d fsyncs waited for the window, want none", workers, j.waits)
		}
	}
	base := j.fsyncs
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 50 {
				if err := j.started(100 + w*50 + i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d fsyncs in %s, %d waited", j.fsyncs-base, elapsed, j.waits)
	if got, most := j.fsyncs-base, int64(elapsed/commitEvery)+2; got > most {
		t.Errorf("800 starts from 16 goroutines in %s: %d fsyncs, want at most %d", elapsed, got, most)
	}
}
