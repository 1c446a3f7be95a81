package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The command as spec-check.sh runs it: exit status and output.
func TestRunPassesOnCurrentSpec(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"-base", releasedPath, "-revision", revisionPath, "-changelog", changelogPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "PASS") {
		t.Errorf("output does not say PASS:\n%s", stdout.String())
	}
}

// Here the breaking edit is made on the YAML text, as a person would make it.
func TestRunFailsOnRequiredName(t *testing.T) {
	spec, err := os.ReadFile(revisionPath)
	if err != nil {
		t.Fatal(err)
	}
	const required = "\n        - followersActionType\n"
	if strings.Count(string(spec), required) != 1 {
		t.Fatalf("the required list of UpsertOpportunityRequest no longer ends with followersActionType; update this test")
	}
	edited := strings.Replace(string(spec), required, required+"        - name\n", 1)
	path := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr strings.Builder
	code := run([]string{"-base", releasedPath, "-revision", path, "-changelog", changelogPath}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"request-property-became-required", "`name` became required", "FAIL"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestRunRejectsMissingFile(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"-revision", "does-not-exist.yaml"}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
