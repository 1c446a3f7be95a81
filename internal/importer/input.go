// Package importer imports opportunities in bulk from CSV or JSON Lines
// files, with a journal that lets an interrupted run resume without ever
// sending twice a create that may have landed.
package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/leadwaycrm/leadway"
)

// Bounds on what one row may hold: a cell (or a JSON value) over
// MaxCellBytes is a row error, and a line over MaxLineBytes stops the
// reading of a CSV file (a row error in JSON Lines), so that no input can
// make the import hold more than that at once.
const (
	MaxCellBytes = 64 << 10
	MaxLineBytes = 1 << 20
)

// Formats of an input file.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// DetectFormat returns the format named by flag, or else by the file's
// extension: .csv is CSV; .jsonl, .ndjson and .json are JSON Lines.
func DetectFormat(path, flag string) (string, error) {
	switch strings.ToLower(flag) {
	case FormatCSV:
		return FormatCSV, nil
	case FormatJSONL, "ndjson", "json":
		return FormatJSONL, nil
	case "":
	default:
		return "", fmt.Errorf("--format %q: want csv or jsonl", flag)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV, nil
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension; pass --format csv or --format jsonl", path)
}

// Row is one data row of the input.
type Row struct {
	// Num is the row's number among the data rows, from 1. The journal and
	// the output files key rows by it.
	Num int
	// Line is the line of the file where the row starts, from 1.
	Line int
	// Req is the request the row makes, when Err is nil.
	Req leadway.UpsertRequest
	// Err is what is wrong with the row, a *FieldError.
	Err error
	// Record is a CSV row's fields as read, and JSON a JSON Lines row's
	// line, so that the failed and unknown files can repeat the row as it
	// was. Both are only valid until the next row is read.
	Record []string
	JSON   []byte
}

// FieldError says which field of a row is wrong.
type FieldError struct {
	// Field is the request's JSON name of the field, or "(row)" or
	// "(line)" when the row as a whole is wrong.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// HeaderError refuses an input whose columns the request does not have.
type HeaderError struct {
	// Unknown lists the columns the request has no field for.
	Unknown []string
	// Reason, when set, is another problem of the header.
	Reason string
}

func (e *HeaderError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return fmt.Sprintf("unknown column%s %s: the request has no such field; map %s with --map COLUMN=FIELD (fields: %s)",
		plural(len(e.Unknown)), quoteAll(e.Unknown), pronoun(len(e.Unknown)), strings.Join(Fields(), ", "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Fields returns the request's JSON field names, which CSV headers and JSON
// keys use.
func Fields() []string {
	names := make([]string, 0, len(requestFields))
	for n := range requestFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Spec says how rows become requests.
type Spec struct {
	// Format is FormatCSV or FormatJSONL.
	Format string
	// Defaults fill fields a row leaves out or empty, keyed by JSON name.
	Defaults map[string]string
	// Map renames columns (or JSON keys) to request fields.
	Map map[string]string
}

// Check refuses defaults and mappings that name no field.
func (s Spec) Check() error {
	for f := range s.Defaults {
		if _, ok := requestFields[f]; !ok {
			return fmt.Errorf("default for unknown field %q", f)
		}
	}
	for col, f := range s.Map {
		if _, ok := requestFields[f]; !ok {
			return fmt.Errorf("--map %s=%s: the request has no field %q (fields: %s)", col, f, f, strings.Join(Fields(), ", "))
		}
	}
	return nil
}

// ignored reports whether a column is left out of the request: the columns
// the failed and unknown files add, which start with "_".
func ignored(col string) bool { return strings.HasPrefix(col, "_") }

// Reader reads rows from an input, one at a time.
type Reader struct {
	spec     Spec
	csv      *csv.Reader
	header   []string
	cols     []*requestField // the request field of each column, nil when ignored
	defaults []defaultValue
	// records, when set, reads rows as they are, without making their
	// requests: for writing the output files, which repeat rows.
	records bool
	lines   *bufio.Reader
	line    int
	num     int
	obj     map[string]json.RawMessage
}

// Header returns the CSV header, or nil for JSON Lines.
func (rd *Reader) Header() []string { return rd.header }

// request (for JSON Lines) fills defaults, decodes obj strictly and validates it as the
// client does before sending.
func (rd *Reader) request(obj map[string]json.RawMessage) (leadway.UpsertRequest, error) {
	for _, d := range rd.defaults {
		if _, ok := obj[d.field.name]; ok {
			continue
		}
		raw, err := cellJSON(d.field.name, d.value)
		if err != nil {
			return leadway.UpsertRequest{}, err
		}
		obj[d.field.name] = raw
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return leadway.UpsertRequest{}, &FieldError{Field: "(row)", Reason: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req leadway.UpsertRequest
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return req, &FieldError{Field: te.Field, Reason: "is " + te.Value + ", want " + te.Type.String()}
		}
		return req, &FieldError{Field: "(row)", Reason: err.Error()}
	}
	return req, validate(req)
}

// validate checks req as the client does before sending, naming the field
// that is wrong.
func validate(req leadway.UpsertRequest) error {
	if err := leadway.Validate(req); err != nil {
		var ve *leadway.ValidationError
		if errors.As(err, &ve) {
			return &FieldError{Field: ve.Field, Reason: ve.Reason}
		}
		return err
	}
	return nil
}

// Rows ranges over the rows rd reads, ending at the end of the input or
// with the error that stopped the reading.
func Rows(rd *Reader) iter.Seq2[*Row, error] {
	return func(yield func(*Row, error) bool) {
		for {
			row, err := rd.Next()
			if err == io.EOF {
				return
			}
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}
