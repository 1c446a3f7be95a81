package importer

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// NewReader reads the header, if any, and refuses unknown columns with a
// *HeaderError.
func NewReader(r io.Reader, spec Spec) (*Reader, error) {
	rd := &Reader{spec: spec}
	if spec.Format == FormatJSONL {
		rd.lines = bufio.NewReaderSize(r, 64<<10)
		return rd, nil
	}
	rd.csv = csv.NewReader(&lineLimit{r: r, max: MaxLineBytes})
	rd.csv.ReuseRecord = true
	rd.csv.FieldsPerRecord = -1 // a short or long row is reported as that row's error
	header, err := rd.csv.Read()
	if err == io.EOF {
		return nil, &HeaderError{Reason: "the file is empty: a CSV input needs a header row of field names"}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a spreadsheet's byte order mark
	}
	rd.header = slices.Clone(header)
	var unknown []string
	seen := map[string]string{}
	for _, col := range rd.header {
		field := col
		if m, ok := spec.Map[col]; ok {
			field = m
		}
		switch _, known := fieldKinds[field]; {
		case ignored(col):
			field = ""
		case !known:
			unknown = append(unknown, col)
		case seen[field] != "":
			return nil, &HeaderError{Reason: fmt.Sprintf("columns %q and %q both set %s", seen[field], col, field)}
		}
		if field != "" {
			seen[field] = col
		}
		rd.fields = append(rd.fields, field)
	}
	if len(unknown) > 0 {
		return nil, &HeaderError{Unknown: unknown}
	}
	return rd, nil
}

// Next reads the next row. It returns io.EOF at the end, and another error
// when the file cannot be read on (a CSV quoting error, for instance).
func (rd *Reader) Next() (*Row, error) {
	if rd.lines != nil {
		return rd.nextJSON()
	}
	rec, err := rd.csv.Read()
	if err != nil {
		return nil, err
	}
	line, _ := rd.csv.FieldPos(0)
	rd.num++
	row := &Row{Num: rd.num, Line: line, Record: rec}
	if len(rec) != len(rd.header) {
		row.Err = &FieldError{Field: "(row)", Reason: fmt.Sprintf("has %d fields, the header %d", len(rec), len(rd.header))}
		return row, nil
	}
	if err := rd.checkCells(rec); err != nil {
		row.Err = err
		return row, nil
	}
	obj := make(map[string]json.RawMessage, len(rec))
	for i, cell := range rec {
		if i >= len(rd.fields) || rd.fields[i] == "" || cell == "" {
			continue
		}
		v, err := cellJSON(rd.fields[i], cell)
		if err != nil {
			row.Err = err
			return row, nil
		}
		obj[rd.fields[i]] = v
	}
	row.Req, row.Err = rd.request(obj)
	return row, nil
}

// checkCells refuses a cell that is not UTF-8 or is over MaxCellBytes,
// naming its column and where it starts.
func (rd *Reader) checkCells(rec []string) error {
	for i, cell := range rec {
		col := fmt.Sprint("column ", i+1)
		if i < len(rd.header) {
			col = fmt.Sprintf("column %d (%s)", i+1, rd.header[i])
		}
		line, column := rd.csv.FieldPos(i)
		if len(cell) > MaxCellBytes {
			return &FieldError{Field: "(row)", Reason: fmt.Sprintf("%s, line %d, column %d: the cell is %d bytes, over the %d a cell may hold", col, line, column, len(cell), MaxCellBytes)}
		}
		if !utf8.ValidString(cell) {
			return &FieldError{Field: "(row)", Reason: fmt.Sprintf("%s, line %d, column %d: not valid UTF-8 (byte %d of the cell); save the file as UTF-8", col, line, column, invalidAt(cell)+1)}
		}
	}
	return nil
}

// invalidAt is the offset of the first byte of s that is not UTF-8.
func invalidAt(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return len(s)
}

// lineLimit fails the reading of a physical line over max bytes, so that
// one enormous line (a runaway quote, a binary file) cannot make the CSV
// reader hold it whole.
type lineLimit struct {
	r    io.Reader
	max  int
	line int // bytes since the last newline
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.line = 0
			continue
		}
		if l.line++; l.line > l.max {
			return i, fmt.Errorf("a line over %d bytes; no cell may hold more than %d", l.max, MaxCellBytes)
		}
	}
	return n, err
}
