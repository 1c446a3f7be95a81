package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/leadwaycrm/leadway"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command speaks in its own terms: a message names the flag a user
// typed and the JSON field it becomes, never a Go type or a parser's
// internals.

// flagError rewrites pflag's parse errors, which end in strconv's wording,
// into the flag and what it accepts.
func flagError(cmd *cobra.Command, err error) error {
	var (
		invalid  *pflag.InvalidValueError
		required *pflag.ValueRequiredError
	)
	switch {
	case errors.As(err, &invalid):
		fl := invalid.GetFlag()
		return usageErrorf("%s: --%s %q: want %s (see %s --help)", cmd.Name(), fl.Name, invalid.GetValue(),
			accepts(fl.Value.Type()), cmd.CommandPath())
	case errors.As(err, &required):
		fl := required.GetFlag()
		return usageErrorf("%s: --%s needs a value: %s (see %s --help)", cmd.Name(), fl.Name,
			accepts(fl.Value.Type()), cmd.CommandPath())
	}
	return usageErrorf("%s: %v (see %s --help)", cmd.Name(), err, cmd.CommandPath())
}

// accepts says, in words, what a flag of pflag's type name takes.
func accepts(typ string) string {
	switch typ {
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number, such as 4"
	case "float64", "float32":
		return "a number, such as 220 or 1500.5"
	case "duration":
		return "a duration, such as 500ms, 30s or 2m"
	case "bool":
		return "true or false"
	}
	return "a " + typ
}

// unknownCommand rewords cobra's "unknown command" error, which spans
// several lines, as one sentence with its suggestion. It returns nil for any
// other error.
func unknownCommand(root *cobra.Command, args []string, err error) error {
	if err == nil || len(args) == 0 || !strings.HasPrefix(err.Error(), "unknown command ") {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := root.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return usageErrorf("%s (see %s --help)", msg, root.CommandPath())
}

// requestProblems lists every problem of a request the contract forbids.
// With flags, each names the flag and the JSON field it sets, as in
// "--pipeline-id (pipelineId) is required"; from --data, the field alone.
func requestProblems(cmdName string, err error, flagOf map[string]string) error {
	var problems leadway.ValidationErrors
	if !errors.As(err, &problems) {
		return err
	}
	parts := make([]string, len(problems))
	for i, p := range problems {
		name := p.Field
		if fl, ok := flagOf[p.Field]; ok {
			name = "--" + fl + " (" + p.Field + ")"
		}
		parts[i] = name + " " + p.Reason
	}
	noun := "problem"
	if len(parts) > 1 {
		noun = "problems"
	}
	return usageErrorf("%s: %d %s with the request, nothing was sent: %s", cmdName, len(parts), noun, strings.Join(parts, "; "))
}

// decodeJSON decodes one JSON object into v, refusing unknown fields, and
// words each failure as the field, what it wants and what came, or as the
// line and column where the text stops being JSON.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return fmt.Errorf("more than one JSON value; give one object")
		}
		return nil
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		line, col := position(data, syntax.Offset) // Offset is just past the bad byte
		return fmt.Errorf("not JSON at line %d, column %d: %s", line, max(col, 1), strings.TrimPrefix(syntax.Error(), "invalid character "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The place where more was due: just past the last byte.
		line, col := position(data, int64(len(data)))
		return fmt.Errorf("the JSON ends early, at line %d, column %d", line, col+1)
	case err == io.EOF:
		return fmt.Errorf("no JSON object given")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Errorf("want a JSON object, got %s", jsonKind(typ.Value))
		}
		return fmt.Errorf("%s: want %s, got %s", field, wantKind(typ.Type), jsonKind(typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: the request has no such field", strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// wantKind names a Go type by the JSON it decodes from.
func wantKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64, reflect.Int32:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(wantKind(t.Elem()), "a ") + "s"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.Kind().String()
}

// jsonKind names the JSON value encoding/json reports: "string", "number",
// "bool", "array", "object", or a number's text.
func jsonKind(v string) string {
	switch {
	case v == "bool":
		return "true or false"
	case v == "array" || v == "object":
		return "an " + v
	case v == "string" || v == "number":
		return "a " + v
	case strings.HasPrefix(v, "number"):
		return "the number " + strings.TrimSpace(strings.TrimPrefix(v, "number"))
	}
	return v
}
