package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

func (rd *Reader) nextJSON() (*Row, error) {
	for {
		data, long, err := readLine(rd.lines, MaxLineBytes)
		if len(data) == 0 && !long && err != nil {
			return nil, err
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		rd.line++
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) == 0 && !long {
			continue // blank lines separate nothing
		}
		rd.num++
		row := &Row{Num: rd.num, Line: rd.line, JSON: trimmed}
		if rd.records {
			return row, nil
		}
		if rd.records {
			return row, nil
		}
		if long {
			row.Err = &FieldError{Field: "(line)", Reason: fmt.Sprintf("over %d bytes; no value may hold more than %d", MaxLineBytes, MaxCellBytes)}
			return row, nil
		}
		if !utf8.Valid(trimmed) {
			row.Err = &FieldError{Field: "(line)", Reason: fmt.Sprintf("column %d: not valid UTF-8; save the file as UTF-8", invalidAt(string(data))+1)}
			return row, nil
		}
		clear(rd.obj)
		if rd.obj == nil {
			rd.obj = map[string]json.RawMessage{}
		}
		if err := json.Unmarshal(trimmed, &rd.obj); err != nil {
			row.Err = &FieldError{Field: "(line)", Reason: "not a JSON object: " + err.Error()}
			return row, nil
		}
		obj := make(map[string]json.RawMessage, len(rd.obj))
		var unknown []string
		for k, v := range rd.obj {
			field := k
			if m, ok := rd.spec.Map[k]; ok {
				field = m
			}
			if ignored(k) {
				continue
			}
			if _, ok := requestFields[field]; !ok {
				unknown = append(unknown, k)
				continue
			}
			if string(v) == "null" {
				continue
			}
			if len(v) > MaxCellBytes {
				row.Err = &FieldError{Field: field, Reason: fmt.Sprintf("is %d bytes, over the %d a value may hold", len(v), MaxCellBytes)}
				return row, nil
			}
			obj[field] = v
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			row.Err = &FieldError{Field: unknown[0], Reason: "unknown field; map it with --map KEY=FIELD"}
			return row, nil
		}
		row.Req, row.Err = rd.request(obj)
		return row, nil
	}
}

// readLine reads one line of at most max bytes, without its newline. A
// longer line is skipped to its end and reported long, with no data, so
// that memory stays within max.
func readLine(r *bufio.Reader, max int) (data []byte, long bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !long {
			if len(buf)+len(chunk) > max+1 { // +1: the newline
				long, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if long {
			return nil, true, err
		}
		return bytes.TrimSuffix(buf, []byte("\n")), false, err
	}
}
