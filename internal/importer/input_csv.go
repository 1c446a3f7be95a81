package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// NewReader reads the header, if any, and refuses unknown columns with a
// *HeaderError.
func NewReader(r io.Reader, spec Spec) (*Reader, error) {
	rd := &Reader{spec: spec, defaults: defaultsOf(spec)}
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
		switch _, known := requestFields[field]; {
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
		rd.cols = append(rd.cols, requestFields[field])
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
	if rd.records {
		return row, nil
	}
	if err := rd.checkCells(rec); err != nil {
		row.Err = err
		return row, nil
	}
	row.Err = rd.csvRequest(rec, &row.Req)
	return row, nil
}

// checkCells refuses a cell that is not UTF-8 or is over MaxCellBytes,
// naming its column and where it starts.
func (rd *Reader) checkCells(rec []string) error {
	for i, cell := range rec {
		switch {
		case len(cell) > MaxCellBytes:
			return &FieldError{Field: "(row)", Reason: fmt.Sprintf("%s: the cell is %d bytes, over the %d a cell may hold", rd.where(i), len(cell), MaxCellBytes)}
		case !utf8.ValidString(cell):
			return &FieldError{Field: "(row)", Reason: fmt.Sprintf("%s: not valid UTF-8 (byte %d of the cell); save the file as UTF-8", rd.where(i), invalidAt(cell)+1)}
		}
	}
	return nil
}

// where names the cell of column i of the record just read: its column by
// number and header, and where in the file it starts.
func (rd *Reader) where(i int) string {
	col := fmt.Sprint("column ", i+1)
	if i < len(rd.header) {
		col = fmt.Sprintf("column %d (%s)", i+1, rd.header[i])
	}
	line, column := rd.csv.FieldPos(i)
	return fmt.Sprintf("%s, line %d, column %d", col, line, column)
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
	for i := 0; i < n; {
		nl := bytes.IndexByte(p[i:n], '\n')
		end := n
		if nl >= 0 {
			end = i + nl
		}
		if l.line+end-i > l.max {
			return i + l.max - l.line, fmt.Errorf("a line over %d bytes; no cell may hold more than %d", l.max, MaxCellBytes)
		}
		if nl < 0 {
			l.line += end - i
			break
		}
		l.line, i = 0, end+1
	}
	return n, err
}
