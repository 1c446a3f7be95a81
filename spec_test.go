package leadway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestSpec loads the contract, validates it, and validates every example in
// it against its schema, so that generators in other languages get a
// document whose examples they can trust.
func TestSpec(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}

	checked := 0
	check := func(where string, s *openapi3.SchemaRef, example any) {
		t.Helper()
		if example == nil || s == nil || s.Value == nil {
			return
		}
		checked++
		if err := s.Value.VisitJSON(example); err != nil {
			t.Errorf("%s: example %v does not match its schema: %v", where, example, err)
		}
	}
	var walk func(where string, s *openapi3.SchemaRef)
	walk = func(where string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			return
		}
		check(where, s, s.Value.Example)
		for name, p := range s.Value.Properties {
			walk(where+"."+name, p)
		}
		walk(where+"[]", s.Value.Items)
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s)
	}
	for name, p := range doc.Components.Parameters {
		check("parameter "+name, p.Value.Schema, p.Value.Example)
	}
	for name, h := range doc.Components.Headers {
		walk("header "+name, h.Value.Schema)
		check("header "+name, h.Value.Schema, h.Value.Example)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := fmt.Sprintf("%s %s", method, path)
			if rb := op.RequestBody; rb != nil {
				for ct, mt := range rb.Value.Content {
					check(where+" "+ct, mt.Schema, mt.Example)
					for name, ex := range mt.Examples {
						check(where+" example "+name, mt.Schema, ex.Value.Value)
					}
				}
			}
			for status, resp := range op.Responses.Map() {
				for ct, mt := range resp.Value.Content {
					check(where+" "+status+" "+ct, mt.Schema, mt.Example)
					for name, ex := range mt.Examples {
						check(where+" "+status+" example "+name, mt.Schema, ex.Value.Value)
					}
				}
			}
		}
	}
	if checked < 40 {
		t.Errorf("checked %d examples; the walk missed some", checked)
	}
	t.Logf("%d examples validated", checked)
}
