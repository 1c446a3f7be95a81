package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/leadwaycrm/leadway"
)

// A CSV cell becomes its request field's value directly, without a JSON
// round trip: a row is read three times in an import (the check, the send,
// the outputs), so the cost of turning it into a request counts three
// times per row. The JSON path remains for JSON Lines, and a test holds
// the two to the same result.

// requestField is one field of the request that a column or a default may
// set.
type requestField struct {
	name  string // the JSON name, which headers use
	index int    // the struct field's index
	bit   uint64 // the field's bit in a row's set of filled fields
	kind  kind
}

type kind int

const (
	kindString kind = iota
	kindNumber
	kindBool
	kindList
	kindJSON
)

// requestFields maps each JSON field name of the request to its field.
var requestFields = func() map[string]*requestField {
	m := map[string]*requestField{}
	t := reflect.TypeFor[leadway.UpsertRequest]()
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if len(m) == 64 {
			panic("importer: the request has more fields than a row's set of filled fields holds")
		}
		m[name] = &requestField{name: name, index: f.Index[0], bit: 1 << len(m), kind: kindOf(f.Type)}
	}
	return m
}()

func kindOf(t reflect.Type) kind {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32 || t.Kind() == reflect.Int:
		return kindNumber
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return kindList
	}
	return kindJSON // such as customFields: a JSON column
}

// set stores cell, as a CSV cell, in the field of req (a settable
// UpsertRequest).
func (f *requestField) set(req reflect.Value, cell string) error {
	v := req.Field(f.index)
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		v.Set(p)
		v = p.Elem()
	}
	switch {
	case f.kind == kindString:
		v.SetString(cell)
	case f.kind == kindNumber && v.Kind() == reflect.Float64:
		n, err := parseNumber(f.name, cell)
		if err != nil {
			return err
		}
		v.SetFloat(n)
	case f.kind == kindBool:
		b, err := parseBool(f.name, cell)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case f.kind == kindList:
		parts := splitList(cell)
		list := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			list.Index(i).SetString(p)
		}
		v.Set(list)
	default:
		return f.setJSON(v, cell)
	}
	return nil
}

// setJSON stores cell through its JSON value, for the kinds set does not
// store directly.
func (f *requestField) setJSON(v reflect.Value, cell string) error {
	raw, err := cellJSON(f.name, cell)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &FieldError{Field: f.name, Reason: "is " + te.Value + ", want " + te.Type.String()}
		}
		return &FieldError{Field: f.name, Reason: err.Error()}
	}
	return nil
}

// defaultValue is a field's value for rows that leave it out or empty.
type defaultValue struct {
	field *requestField
	value string
}

// defaultsOf resolves the spec's defaults to their fields, in the order of
// the fields' names, so that a wrong default is always reported the same.
// Spec.Check has refused any that names no field.
func defaultsOf(spec Spec) []defaultValue {
	var ds []defaultValue
	for name, v := range spec.Defaults {
		if f, ok := requestFields[name]; ok {
			ds = append(ds, defaultValue{field: f, value: v})
		}
	}
	slices.SortFunc(ds, func(a, b defaultValue) int { return strings.Compare(a.field.name, b.field.name) })
	return ds
}

// csvRequest turns a CSV record, whose cells are known to be UTF-8 and
// within bounds, into its request, with the defaults filled in, and
// validates it as the client does before sending.
func (rd *Reader) csvRequest(rec []string, req *leadway.UpsertRequest) error {
	v := reflect.ValueOf(req).Elem()
	var filled uint64
	for i, cell := range rec {
		if i >= len(rd.cols) || rd.cols[i] == nil || cell == "" {
			continue
		}
		f := rd.cols[i]
		if err := f.set(v, cell); err != nil {
			return err
		}
		filled |= f.bit
	}
	for _, d := range rd.defaults {
		if filled&d.field.bit != 0 {
			continue
		}
		if err := d.field.set(v, d.value); err != nil {
			return err
		}
	}
	return validate(*req)
}

// cellJSON turns one CSV cell into the JSON value of field.
func cellJSON(field, cell string) (json.RawMessage, error) {
	var kind kind
	if f, ok := requestFields[field]; ok {
		kind = f.kind
	}
	switch kind {
	case kindNumber:
		n, err := parseNumber(field, cell)
		if err != nil {
			return nil, err
		}
		return json.Marshal(n)
	case kindBool:
		b, err := parseBool(field, cell)
		if err != nil {
			return nil, err
		}
		return json.Marshal(b)
	case kindList:
		return json.Marshal(splitList(cell))
	case kindJSON:
		if !json.Valid([]byte(cell)) {
			return nil, &FieldError{Field: field, Reason: "is not valid JSON"}
		}
		return json.RawMessage(cell), nil
	}
	return json.Marshal(cell)
}

// parseNumber reads a number cell; NaN and the infinities are not numbers
// a request can carry.
func parseNumber(field, cell string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, &FieldError{Field: field, Reason: fmt.Sprintf("%q is not a number", cell)}
	}
	return n, nil
}

func parseBool(field, cell string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(cell))
	if err != nil {
		return false, &FieldError{Field: field, Reason: fmt.Sprintf("%q is not true or false", cell)}
	}
	return b, nil
}

// splitList reads a list cell: items separated by ";", trimmed.
func splitList(cell string) []string {
	parts := strings.Split(cell, ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
