package importer

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
)

// writeOutputs writes the results, failed and unknown files from the rows'
// states, in input order, each through a temporary file renamed into
// place. Failed and unknown rows keep their original columns, so that the
// files can be fixed and imported again as they are; the columns they add
// start with "_" and are ignored on import.
func writeOutputs(cfg *Config, states *rowTable, sum *Summary) (err error) {
	results, err := createTemp(sum.Results)
	if err != nil {
		return err
	}
	defer results.abort()
	failed, err := createTemp(sum.FailedFile)
	if err != nil {
		return err
	}
	defer failed.abort()
	unknown, err := createTemp(sum.UnknownFile)
	if err != nil {
		return err
	}
	defer unknown.abort()

	rw := csv.NewWriter(results.w)
	_ = rw.Write([]string{"row", "line", "opportunityId", "outcome"})
	var fw, uw rowWriter
	if cfg.Spec.Format == FormatJSONL {
		fw, uw = &jsonWriter{w: failed.w, errKey: "_error"}, &jsonWriter{w: unknown.w, errKey: "_reason"}
	} else {
		fw, uw = &csvWriter{w: csv.NewWriter(failed.w)}, &csvWriter{w: csv.NewWriter(unknown.w)}
	}
	err = openRows(cfg.Input, cfg.Spec, nil, func(rd *Reader) error {
		rd.records = true
		if h := rd.Header(); h != nil {
			fw.header(h, "_error", "_status")
			uw.header(h, "_reason", "")
		}
		for row, err := range Rows(rd) {
			if err != nil {
				return &ReadError{Path: cfg.Input, Err: err}
			}
			if st := states.state(row.Num); st == statePending || st == stateStarted {
				continue // in no output file: no need to read its record
			}
			s := states.get(row.Num)
			switch s.state {
			case stateDone:
				outcome := "updated"
				if s.new {
					outcome = "created"
				}
				_ = rw.Write([]string{strconv.Itoa(row.Num), strconv.Itoa(row.Line), s.id, outcome})
			case stateFailed:
				status := ""
				if s.status != 0 {
					status = strconv.Itoa(s.status)
				}
				fw.row(row, s.msg, status)
			case stateUnknown:
				uw.row(row, s.msg, "")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rw.Flush()
	for _, w := range []rowWriter{fw, uw} {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if err := rw.Error(); err != nil {
		return err
	}
	for _, f := range []*tempFile{results, failed, unknown} {
		if err := f.commit(); err != nil {
			return err
		}
	}
	return nil
}

type rowWriter interface {
	header(h []string, errCol, statusCol string)
	row(r *Row, msg, status string)
	flush() error
}

// csvWriter writes CSV rows with the input's columns, less any "_" ones,
// then _row, _line and the error columns.
type csvWriter struct {
	w      *csv.Writer
	keep   []int
	status bool
	buf    []string
}

func (c *csvWriter) header(h []string, errCol, statusCol string) {
	out := []string{}
	for i, col := range h {
		if !ignored(col) {
			c.keep = append(c.keep, i)
			out = append(out, col)
		}
	}
	out = append(out, "_row", "_line", errCol)
	if statusCol != "" {
		c.status = true
		out = append(out, statusCol)
	}
	_ = c.w.Write(out)
}

func (c *csvWriter) row(r *Row, msg, status string) {
	c.buf = c.buf[:0]
	for _, i := range c.keep {
		v := ""
		if i < len(r.Record) {
			v = r.Record[i]
		}
		c.buf = append(c.buf, v)
	}
	c.buf = append(c.buf, strconv.Itoa(r.Num), strconv.Itoa(r.Line), msg)
	if c.status {
		c.buf = append(c.buf, status)
	}
	_ = c.w.Write(c.buf)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonWriter writes each row's JSON object, less any "_" keys, with _row,
// _line and the error keys added.
type jsonWriter struct {
	w      *bufio.Writer
	errKey string
	err    error
}

func (j *jsonWriter) header([]string, string, string) {}

func (j *jsonWriter) row(r *Row, msg, status string) {
	obj := map[string]json.RawMessage{}
	_ = json.Unmarshal(r.JSON, &obj)
	for k := range obj {
		if ignored(k) {
			delete(obj, k)
		}
	}
	put := func(k string, v any) {
		b, _ := json.Marshal(v)
		obj[k] = b
	}
	put("_row", r.Num)
	put("_line", r.Line)
	put(j.errKey, msg)
	if status != "" {
		put("_status", status)
	}
	b, err := json.Marshal(obj)
	if err != nil && j.err == nil {
		j.err = err
	}
	b = append(b, '\n')
	if _, err := j.w.Write(b); err != nil && j.err == nil {
		j.err = err
	}
}

func (j *jsonWriter) flush() error { return j.err }

// tempFile is an output written beside its final path and renamed into
// place once complete, so that a reader never sees half a file.
type tempFile struct {
	f    *os.File
	w    *bufio.Writer
	path string
	done bool
}

func createTemp(path string) (*tempFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	return &tempFile{f: f, w: bufio.NewWriterSize(f, 64<<10), path: path}, nil
}

func (t *tempFile) commit() error {
	if err := t.w.Flush(); err != nil {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	if err := t.f.Close(); err != nil {
		return err
	}
	t.done = true
	return os.Rename(t.f.Name(), t.path)
}

func (t *tempFile) abort() {
	if !t.done {
		t.f.Close()
		os.Remove(t.f.Name())
	}
}
