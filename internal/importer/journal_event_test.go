package importer

import (
	"bytes"
	"encoding/json"
	"testing"
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
