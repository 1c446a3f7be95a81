package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Verdict is the outcome of comparing a revision of the spec with the released one.
type Verdict struct {
	BaseVersion     string
	RevisionVersion string
	// Breaking holds the changes oasdiff rates ERR: they break existing clients.
	Breaking checker.Changes
	// Warnings holds the changes oasdiff rates WARN: possibly breaking, shown
	// for review but never failing the gate.
	Warnings checker.Changes
	Pass     bool
	// Reason says in one sentence why the gate passed or failed.
	Reason string
}

// LoadSpec loads an OpenAPI document from a file path (or anything else
// oasdiff's load.NewSource accepts, such as a git revision "HEAD:api/openapi.yaml").
func LoadSpec(path string) (*load.SpecInfo, error) {
	// A fresh loader per document: the loader caches by path.
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true // lets changes name the line they come from
	spec, err := load.NewSpecInfo(loader, load.NewSource(path))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return spec, nil
}

// Check applies the release rule: the revision may not break clients of the
// base, unless its info.version has a higher major than the base's and the
// changelog has a heading for that version.
func Check(base, revision *load.SpecInfo, changelog []byte) (*Verdict, error) {
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), base, revision)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.WARN)

	v := &Verdict{BaseVersion: versionOf(base), RevisionVersion: versionOf(revision)}
	for _, c := range changes {
		switch {
		case c.GetLevel() >= checker.ERR:
			v.Breaking = append(v.Breaking, c)
		case c.GetLevel() == checker.WARN:
			v.Warnings = append(v.Warnings, c)
		}
	}

	if len(v.Breaking) == 0 {
		v.Pass = true
		v.Reason = "no breaking change"
		return v, nil
	}
	baseMajor, err := majorOf(v.BaseVersion)
	if err != nil {
		return nil, fmt.Errorf("released spec: %w", err)
	}
	revisionMajor, err := majorOf(v.RevisionVersion)
	if err != nil {
		v.Reason = fmt.Sprintf("breaking changes, and the revision's info.version cannot show a major bump: %v", err)
		return v, nil
	}
	switch {
	case revisionMajor <= baseMajor:
		v.Reason = fmt.Sprintf("breaking changes need a new major version, but info.version went from %s to %s", v.BaseVersion, v.RevisionVersion)
	case !hasEntry(changelog, v.RevisionVersion):
		v.Reason = fmt.Sprintf("breaking changes under the new major version %s, but the changelog has no heading for %s", v.RevisionVersion, v.RevisionVersion)
	default:
		v.Pass = true
		v.Reason = fmt.Sprintf("breaking changes, released as the new major version %s with a changelog entry", v.RevisionVersion)
	}
	return v, nil
}

// Write prints the verdict for a person reading CI output.
func (v *Verdict) Write(w io.Writer) {
	l := checker.NewDefaultLocalizer()
	fmt.Fprintf(w, "spec gate: released %s, revision %s\n", v.BaseVersion, v.RevisionVersion)
	if len(v.Breaking) > 0 {
		fmt.Fprintf(w, "\n%d breaking change(s):\n", len(v.Breaking))
		for _, c := range v.Breaking {
			fmt.Fprintf(w, "%s\n\n", c.MultiLineError(l, checker.ColorNever))
		}
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintf(w, "\n%d change(s) to review (not gating):\n", len(v.Warnings))
		for _, c := range v.Warnings {
			fmt.Fprintf(w, "%s\n\n", c.MultiLineError(l, checker.ColorNever))
		}
	}
	status := "FAIL"
	if v.Pass {
		status = "PASS"
	}
	fmt.Fprintf(w, "spec gate: %s: %s\n", status, v.Reason)
}

func versionOf(s *load.SpecInfo) string {
	if s.Spec == nil || s.Spec.Info == nil {
		return ""
	}
	return s.Spec.Info.Version
}

// majorOf returns the MAJOR of a MAJOR.MINOR.PATCH version, with optional
// pre-release and build suffixes.
func majorOf(version string) (int, error) {
	core, _, _ := strings.Cut(version, "+")
	core, _, _ = strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return 0, fmt.Errorf("info.version %q is not MAJOR.MINOR.PATCH", version)
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p != strconv.Itoa(n) {
			return 0, fmt.Errorf("info.version %q is not MAJOR.MINOR.PATCH", version)
		}
		nums[i] = n
	}
	return nums[0], nil
}

// hasEntry reports whether the changelog has a Markdown heading for version,
// written as "## 2.0.0", "## v2.0.0" or "## [2.0.0] - 2026-06-01".
func hasEntry(changelog []byte, version string) bool {
	s := bufio.NewScanner(bytes.NewReader(changelog))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		title = strings.TrimPrefix(title, "[")
		end := strings.IndexAny(title, "] \t")
		if end >= 0 {
			title = title[:end]
		}
		if strings.TrimPrefix(title, "v") == version {
			return true
		}
	}
	return false
}
