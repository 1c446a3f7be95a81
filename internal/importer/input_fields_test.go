package importer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/leadwaycrm/leadway"
)

// viaJSON is how a CSV record became a request before cells were stored
// directly: each cell as its JSON value, decoded strictly into the
// request, as JSON Lines rows still are.
func viaJSON(rd *Reader, rec []string) (leadway.UpsertRequest, error) {
	obj := map[string]json.RawMessage{}
	for i, cell := range rec {
		if i >= len(rd.cols) || rd.cols[i] == nil || cell == "" {
			continue
		}
		v, err := cellJSON(rd.cols[i].name, cell)
		if err != nil {
			return leadway.UpsertRequest{}, err
		}
		obj[rd.cols[i].name] = v
	}
	return rd.request(obj)
}

// sameAsJSON checks that the direct path gives the request, or the error,
// that the JSON path gives.
func sameAsJSON(t *testing.T, header string, spec Spec, rec []string) {
	t.Helper()
	rd, err := NewReader(strings.NewReader(header+"\n"), spec)
	if err != nil {
		t.Skip(err)
	}
	if len(rec) != len(rd.header) {
		t.Skip("not a record of this header")
	}
	if err := rd.checkCells(rec); err != nil {
		t.Skip(err)
	}
	var direct leadway.UpsertRequest
	derr := rd.csvRequest(rec, &direct)
	want, werr := viaJSON(rd, rec)
	if (derr == nil) != (werr == nil) || derr != nil && derr.Error() != werr.Error() {
		t.Fatalf("%q: error %v, the JSON path's %v", rec, derr, werr)
	}
	if derr == nil && !reflect.DeepEqual(direct, want) {
		t.Fatalf("%q: request\n%+v\nthe JSON path's\n%+v", rec, direct, want)
	}
}

const everyColumn = "name,locationId,pipelineId,monetaryValue,followers,isRemoveAllFollowers,status,id,followersActionType,assignedTo,_note"

func TestCellsBecomeWhatTheirJSONWould(t *testing.T) {
	spec := Spec{Format: FormatCSV, Defaults: map[string]string{"pipelineId": "pipe-1", "status": "open", "monetaryValue": "7"}}
	for _, rec := range [][]string{
		{"Deal", "loc-1", "", "220.5", "u1; u2", "true", "won", "", "add", "", "x"},
		{"Deal", "loc-1", "p", "", "", "", "", "opp-1", "remove", "u9", ""},
		{"", "loc-1", "", " 1e3 ", ";", "FALSE", "lost", "", "", "", ""},
		{"Deal", "loc-1", "", "NaN", "", "", "", "", "", "", ""},
		{"Deal", "loc-1", "", "Inf", "", "", "", "", "", "", ""},
		{"Deal", "loc-1", "", "1e400", "", "", "", "", "", "", ""},
		{"Deal", "loc-1", "", "abc", "", "", "", "", "", "", ""},
		{"Deal", "loc-1", "", "1", "", "yes", "", "", "", "", ""},
		{"Deal", "loc-1", "", "1", "", "", "closed", "", "", "", ""},
		{"Deal", "", "", "1", "", "", "", "", "", "", ""},
		{"Deal \"quoted\" \u00e9", "loc-1", "", "-0", "a;b;c;d;e;f;g;h;i;j;k", "", "", "", "sideways", "", ""},
	} {
		sameAsJSON(t, everyColumn, spec, rec)
	}
	bad := Spec{Format: FormatCSV, Defaults: map[string]string{"monetaryValue": "lots", "isRemoveAllFollowers": "maybe"}}
	sameAsJSON(t, "name,locationId,pipelineId", bad, []string{"Deal", "loc-1", "p"})
}

// FuzzCellsBecomeWhatTheirJSONWould holds the direct path to the JSON
// path on any cells.
func FuzzCellsBecomeWhatTheirJSONWould(f *testing.F) {
	f.Add("Deal", "loc-1", "220.5", "u1;u2", "true", "won", "add", "")
	f.Add("", "", "NaN", ";", "0", "all", "", "opp")
	f.Fuzz(func(t *testing.T, name, loc, value, followers, remove, status, action, id string) {
		spec := Spec{Format: FormatCSV, Defaults: map[string]string{"pipelineId": "pipe-1"}}
		rec := []string{name, loc, "", value, followers, remove, status, id, action, "", ""}
		sameAsJSON(t, everyColumn, spec, rec)
	})
}
