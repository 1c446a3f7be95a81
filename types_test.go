package leadway_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/leadwaycrm/leadway"
)

// TestAliasDocsListEveryField keeps the field lists in types.go in step with
// the generated structs: `go doc` shows an alias's comment but not the
// fields behind it, so the comment is where users read them.
func TestAliasDocsListEveryField(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "types.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, spec := range g.Specs {
			ts := spec.(*ast.TypeSpec)
			docs[ts.Name.Name] = ts.Doc.Text()
		}
	}
	types := map[string]reflect.Type{
		"UpsertRequest":      reflect.TypeFor[leadway.UpsertRequest](),
		"Opportunity":        reflect.TypeFor[leadway.Opportunity](),
		"OpportunityContact": reflect.TypeFor[leadway.OpportunityContact](),
		"CustomField":        reflect.TypeFor[leadway.CustomField](),
	}
	for name, typ := range types {
		doc, ok := docs[name]
		if !ok {
			t.Errorf("types.go declares no %s", name)
			continue
		}
		listed := map[string]bool{}
		for _, line := range strings.Split(doc, "\n") {
			if fields := strings.Fields(line); len(line) > 0 && line[0] == '\t' && len(fields) >= 2 {
				listed[fields[0]] = true
			}
		}
		for i := range typ.NumField() {
			field := typ.Field(i)
			if !listed[field.Name] {
				t.Errorf("the doc comment of %s does not list its field %s", name, field.Name)
			}
			delete(listed, field.Name)
		}
		for extra := range listed {
			t.Errorf("the doc comment of %s lists %s, which %s has no more", name, extra, typ)
		}
	}
}

// TestStatusIsOneTypeInRequestsAndAnswers pins that a status read from an
// answer compares with the constants a request uses, and that a status the
// client does not know still decodes instead of failing the call.
func TestStatusIsOneTypeInRequestsAndAnswers(t *testing.T) {
	var o leadway.Opportunity
	if err := json.Unmarshal([]byte(`{"status":"open"}`), &o); err != nil {
		t.Fatal(err)
	}
	if o.Status != leadway.StatusOpen {
		t.Errorf("Status = %q, want %q", o.Status, leadway.StatusOpen)
	}
	req := leadway.UpsertRequest{Status: leadway.Ptr(o.Status)}
	if *req.Status != leadway.StatusOpen {
		t.Errorf("a status read from an answer does not go back into a request")
	}
	if err := json.Unmarshal([]byte(`{"status":"archived"}`), &o); err != nil {
		t.Fatalf("a new status fails to decode: %v", err)
	}
	if o.Status != "archived" || o.Status.Valid() {
		t.Errorf("Status = %q (valid %t), want the unknown value kept and not valid", o.Status, o.Status.Valid())
	}
}
