package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/load"
)

const (
	releasedPath  = "../released/openapi.yaml"
	revisionPath  = "../openapi.yaml"
	changelogPath = "../CHANGELOG.md"
)

func mustLoad(t *testing.T, path string) *load.SpecInfo {
	t.Helper()
	spec, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func mustReadChangelog(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(changelogPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCurrentSpecPassesAgainstRelease(t *testing.T) {
	v, err := Check(mustLoad(t, releasedPath), mustLoad(t, revisionPath), mustReadChangelog(t))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Pass {
		t.Fatalf("current spec fails the gate: %s\n%s", v.Reason, describe(v.Breaking))
	}
}

// A breaking edit is made on the loaded document of the current spec, so the
// tests follow the spec as it evolves instead of a committed copy.
type breakingEdit struct {
	name   string
	edit   func(t *testing.T, s *load.SpecInfo)
	id     string   // the oasdiff check that must fire
	naming []string // words the change's text must contain
}

var breakingEdits = []breakingEdit{
	{
		name: "name becomes required",
		edit: func(t *testing.T, s *load.SpecInfo) {
			req := schema(t, s, "UpsertOpportunityRequest")
			if slices.Contains(req.Required, "name") {
				t.Fatal("name is already required; pick another property for this test")
			}
			req.Required = append(req.Required, "name")
		},
		id:     "request-property-became-required",
		naming: []string{"`name`", "became required"},
	},
	{
		name: "OpportunityStatus loses all",
		edit: func(t *testing.T, s *load.SpecInfo) {
			status := schema(t, s, "OpportunityStatus")
			n := len(status.Enum)
			status.Enum = slices.DeleteFunc(status.Enum, func(v any) bool { return v == "all" })
			if len(status.Enum) == n {
				t.Fatal("OpportunityStatus has no value all; pick another value for this test")
			}
		},
		id:     "request-property-enum-value-removed",
		naming: []string{"`all`", "`status`"},
	},
}

func TestBreakingEditFailsWithoutMajorBump(t *testing.T) {
	released := mustLoad(t, releasedPath).Version
	for _, be := range breakingEdits {
		// The same version, and a minor bump: neither may carry a breaking change.
		for _, version := range []string{released, nextMinor(t, released)} {
			t.Run(be.name+" as "+version, func(t *testing.T) {
				revision := mustLoad(t, revisionPath)
				be.edit(t, revision)
				setVersion(revision, version)
				v := mustCheck(t, revision, mustReadChangelog(t))
				if v.Pass {
					t.Fatalf("gate passed a breaking edit: %s", v.Reason)
				}
				assertNamed(t, v, be)
				if !strings.Contains(v.Reason, "major") {
					t.Errorf("reason does not mention the major version: %s", v.Reason)
				}
			})
		}
	}
}

func TestBreakingEditPassesWithMajorBumpAndChangelog(t *testing.T) {
	major := nextMajor(t, mustLoad(t, releasedPath).Version)
	for _, be := range breakingEdits {
		t.Run(be.name, func(t *testing.T) {
			revision := mustLoad(t, revisionPath)
			be.edit(t, revision)
			setVersion(revision, major)
			changelog := append(mustReadChangelog(t), "\n## ["+major+"] - 2027-01-15\n\n- "+be.name+".\n"...)
			v := mustCheck(t, revision, changelog)
			if !v.Pass {
				t.Fatalf("gate failed a major release with a changelog entry: %s", v.Reason)
			}
			assertNamed(t, v, be) // still reported, for the reviewer
		})
	}
}

func TestBreakingEditFailsWithMajorBumpButNoChangelog(t *testing.T) {
	released := mustLoad(t, releasedPath).Version
	major := nextMajor(t, released)
	// Not the committed changelog: it gains the next major's entry while that
	// release is being prepared.
	changelog := []byte("# Changelog\n\n## [" + released + "]\n\nFirst release.\n")
	for _, be := range breakingEdits {
		t.Run(be.name, func(t *testing.T) {
			revision := mustLoad(t, revisionPath)
			be.edit(t, revision)
			setVersion(revision, major)
			v := mustCheck(t, revision, changelog)
			if v.Pass {
				t.Fatalf("gate passed a major release without a changelog entry: %s", v.Reason)
			}
			assertNamed(t, v, be)
			if !strings.Contains(v.Reason, "changelog") {
				t.Errorf("reason does not mention the changelog: %s", v.Reason)
			}
		})
	}
}

func TestHasEntry(t *testing.T) {
	changelog := []byte("# Changelog\n\n## [2.0.0] - 2027-01-15\n\n- text mentioning 3.0.0\n\n### v4.1.0\n\n## 5.0.0\n\n## 6.0.0-rc.1\n")
	for version, want := range map[string]bool{
		"2.0.0": true, "4.1.0": true, "5.0.0": true, "6.0.0-rc.1": true,
		"3.0.0": false, "2.0": false, "6.0.0": false, "1.0.0": false,
	} {
		if got := hasEntry(changelog, version); got != want {
			t.Errorf("hasEntry(%q) = %v, want %v", version, got, want)
		}
	}
}

func TestMajorOf(t *testing.T) {
	for version, want := range map[string]int{"1.0.0": 1, "2.3.4-rc.1": 2, "10.0.0+build.5": 10} {
		if got, err := majorOf(version); err != nil || got != want {
			t.Errorf("majorOf(%q) = %d, %v, want %d", version, got, err, want)
		}
	}
	for _, version := range []string{"", "2", "2.0", "v2.0.0", "2.x.0", "02.0.0", "2026-06-01"} {
		if _, err := majorOf(version); err == nil {
			t.Errorf("majorOf(%q) accepted a version that is not MAJOR.MINOR.PATCH", version)
		}
	}
}

func mustCheck(t *testing.T, revision *load.SpecInfo, changelog []byte) *Verdict {
	t.Helper()
	v, err := Check(mustLoad(t, releasedPath), revision, changelog)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	v.Write(&out)
	t.Log("\n" + out.String())
	return v
}

func assertNamed(t *testing.T, v *Verdict, be breakingEdit) {
	t.Helper()
	l := checker.NewDefaultLocalizer()
	for _, c := range v.Breaking {
		if c.GetId() != be.id {
			continue
		}
		text := c.GetUncolorizedText(l)
		for _, word := range be.naming {
			if !strings.Contains(text, word) {
				t.Errorf("change %s does not name %s: %s", be.id, word, text)
			}
		}
		return
	}
	t.Errorf("no breaking change %s among:\n%s", be.id, describe(v.Breaking))
}

func schema(t *testing.T, s *load.SpecInfo, name string) *openapi3.Schema {
	t.Helper()
	ref, ok := s.Spec.Components.Schemas[name]
	if !ok || ref.Value == nil {
		t.Fatalf("the spec has no schema %s", name)
	}
	return ref.Value
}

func nextMajor(t *testing.T, version string) string {
	t.Helper()
	major, err := majorOf(version)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(major+1) + ".0.0"
}

func nextMinor(t *testing.T, version string) string {
	t.Helper()
	if _, err := majorOf(version); err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(version, ".", 3)
	minor, _ := strconv.Atoi(parts[1])
	return parts[0] + "." + strconv.Itoa(minor+1) + ".0"
}

func setVersion(s *load.SpecInfo, version string) {
	s.Spec.Info.Version = version
	s.Version = version
}

func describe(changes checker.Changes) string {
	l := checker.NewDefaultLocalizer()
	var b strings.Builder
	for _, c := range changes {
		b.WriteString(c.GetId() + ": " + c.GetUncolorizedText(l) + "\n")
	}
	return b.String()
}
