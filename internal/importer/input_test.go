package importer

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads every row of input, as JSON bodies or "line N: error".
func readAll(t *testing.T, input string, spec Spec) []string {
	t.Helper()
	rd, err := NewReader(strings.NewReader(input), spec)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var out []string
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if row.Err != nil {
			out = append(out, "line "+itoa(row.Line)+": "+row.Err.Error())
			continue
		}
		b, _ := json.Marshal(row.Req)
		out = append(out, "row "+itoa(row.Num)+" line "+itoa(row.Line)+": "+string(b))
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestCSVRowsBecomeRequests(t *testing.T) {
	input := "\ufeffname,locationId,monetaryValue,followers,isRemoveAllFollowers,status,_error\n" +
		"Deal A,loc-1,220.5,u1; u2,true,won,ignored\n" +
		"\"Deal\nB\",,,,,,\n" +
		"Deal C,loc-2,abc,,,,\n" +
		"Deal D,loc-2,1,,,closed,\n" +
		"Deal E,loc-2\n"
	got := readAll(t, input, Spec{Format: FormatCSV, Defaults: map[string]string{"pipelineId": "pipe-1", "locationId": "loc-9"}})
	want := []string{
		`row 1 line 2: {"followers":["u1","u2"],"followersActionType":"","isRemoveAllFollowers":true,"locationId":"loc-1","monetaryValue":220.5,"name":"Deal A","pipelineId":"pipe-1","status":"won"}`,
		`row 2 line 3: {"followers":null,"followersActionType":"","isRemoveAllFollowers":false,"locationId":"loc-9","name":"Deal\nB","pipelineId":"pipe-1"}`,
		`line 5: monetaryValue: "abc" is not a number`,
		`line 6: status: "closed" is not one of open, won, lost, abandoned, all`,
		`line 7: (row): has 2 fields, the header 7`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnknownColumnsAreRefusedByName(t *testing.T) {
	_, err := NewReader(strings.NewReader("name,deal_value,owner\n"), Spec{Format: FormatCSV})
	var he *HeaderError
	if !errors.As(err, &he) || strings.Join(he.Unknown, ",") != "deal_value,owner" {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasPrefix(err.Error(), `unknown columns "deal_value", "owner": the request has no such field; map them with --map COLUMN=FIELD (fields: assignedTo, contactId,`) {
		t.Errorf("message = %q", err)
	}
	got := readAll(t, "name,deal_value,owner\nA,5,u9\n", Spec{Format: FormatCSV,
		Map:      map[string]string{"deal_value": "monetaryValue", "owner": "assignedTo"},
		Defaults: map[string]string{"pipelineId": "p", "locationId": "l"}})
	if want := `row 1 line 2: {"assignedTo":"u9","followers":null,"followersActionType":"","isRemoveAllFollowers":false,"locationId":"l","monetaryValue":5,"name":"A","pipelineId":"p"}`; len(got) != 1 || got[0] != want {
		t.Errorf("got %q", got)
	}
	// customFields is a JSON column where the request has it; this
	// contract's upsert has none, so it is refused by name too.
	if _, err := NewReader(strings.NewReader("name,customFields\n"), Spec{Format: FormatCSV}); !errors.As(err, &he) || he.Unknown[0] != "customFields" {
		t.Errorf("customFields: %v", err)
	}
	if err := (Spec{Map: map[string]string{"a": "b"}}).Check(); err == nil || !strings.Contains(err.Error(), `the request has no field "b"`) {
		t.Errorf("Check = %v", err)
	}
}

func TestJSONLinesRowsBecomeRequests(t *testing.T) {
	input := `{"name":"A","pipelineId":"p","locationId":"l","monetaryValue":3,"_error":"old"}` + "\n\n" +
		`{"name":"B","pipelineId":"p","gender":"f"}` + "\n" +
		`{"name":5,"pipelineId":"p","locationId":"l"}` + "\n" +
		`not json` + "\n" +
		`{"title":"C","locationId":"l"}`
	got := readAll(t, input, Spec{Format: FormatJSONL, Map: map[string]string{"title": "name"}, Defaults: map[string]string{"pipelineId": "p"}})
	want := []string{
		`row 1 line 1: {"followers":null,"followersActionType":"","isRemoveAllFollowers":false,"locationId":"l","monetaryValue":3,"name":"A","pipelineId":"p"}`,
		`line 3: gender: unknown field; map it with --map KEY=FIELD`,
		`line 4: name: is number, want string`,
		`line 5: (line): not a JSON object: invalid character 'o' in literal null (expecting 'u')`,
		`row 5 line 6: {"followers":null,"followersActionType":"","isRemoveAllFollowers":false,"locationId":"l","name":"C","pipelineId":"p"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tt := range []struct{ path, flag, want string }{
		{"a.csv", "", FormatCSV}, {"a.CSV", "", FormatCSV}, {"a.jsonl", "", FormatJSONL}, {"a.ndjson", "", FormatJSONL},
		{"a.txt", "csv", FormatCSV}, {"a.csv", "jsonl", FormatJSONL},
	} {
		if got, err := DetectFormat(tt.path, tt.flag); err != nil || got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %q, %v", tt.path, tt.flag, got, err)
		}
	}
	if _, err := DetectFormat("a.txt", ""); err == nil || !strings.Contains(err.Error(), "pass --format") {
		t.Errorf("a.txt: %v", err)
	}
	if _, err := DetectFormat("a.csv", "xml"); err == nil {
		t.Error("--format xml accepted")
	}
}

// TestCSVBounds holds a cell to MaxCellBytes (a row error naming where it
// is) and a line to MaxLineBytes (the reading stops), whatever sizes the
// file is read in.
func TestCSVBounds(t *testing.T) {
	big := strings.Repeat("x", MaxCellBytes+1)
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
	} {
		t.Run(name, func(t *testing.T) {
			input := "name,locationId,pipelineId\nok,loc-1,p\n" + big + ",loc-1,p\nok,loc-1,p\n"
			rd, err := NewReader(wrap(strings.NewReader(input)), Spec{Format: FormatCSV})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for row, err := range Rows(rd) {
				if err != nil {
					t.Fatal(err)
				}
				if row.Err != nil {
					got = append(got, row.Err.Error())
					continue
				}
				got = append(got, row.Req.LocationId)
			}
			want := []string{"loc-1", "(row): column 1 (name), line 3, column 1: the cell is 65537 bytes, over the 65536 a cell may hold", "loc-1"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got %q\nwant %q", got, want)
			}

			// A line of exactly MaxLineBytes reads; one byte more stops.
			for _, n := range []int{MaxLineBytes, MaxLineBytes + 1} {
				line := strings.Repeat(`"`+strings.Repeat("y", 1000)+`",`, n/1004) // quoted cells of 1000 bytes
				line += strings.Repeat("z", n-len(line))
				rd, err := NewReader(wrap(strings.NewReader("name\nok\n"+line+"\n")), Spec{Format: FormatCSV})
				if err != nil {
					t.Fatal(err)
				}
				var stop error
				for _, err := range Rows(rd) {
					stop = err
				}
				if n == MaxLineBytes && stop != nil {
					t.Errorf("a line of %d bytes: %v", n, stop)
				}
				if n > MaxLineBytes && (stop == nil || !strings.Contains(stop.Error(), "a line over 1048576 bytes")) {
					t.Errorf("a line of %d bytes: %v, want the reading stopped", n, stop)
				}
			}
		})
	}
}
