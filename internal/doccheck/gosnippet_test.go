package doccheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/imports"
)

// importHints name the packages of this module and its dependencies that
// snippets use by their package name; goimports finds the standard library
// by itself and drops what a snippet does not use.
const importHints = `import (
	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/redislimit"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
)
`

var (
	fragmentRE = regexp.MustCompile(`^go:\s*func\((.*?)\)\s*(.*)$`)
	packageRE  = regexp.MustCompile(`(?m)^package (\w+)`)
)

// snippetFile turns a Go block into a compilable file: a whole file as it
// is, a fragment as the body of a function taking the directive's
// parameters. It returns the file's name and text.
func snippetFile(b block) (string, []byte, error) {
	name := "snippet.go"
	src := b.body
	if m := packageRE.FindStringSubmatch(src); m != nil {
		if strings.HasSuffix(m[1], "_test") || strings.Contains(src, "*testing.T") {
			name = "snippet_test.go"
		}
	} else {
		params, results := "", ""
		if m := fragmentRE.FindStringSubmatch(b.directive); m != nil {
			params, results = m[1], m[2]
		} else if b.directive != "" {
			return "", nil, fmt.Errorf("%s: directive %q is not go: func(PARAMS) RESULTS", b.where(), b.directive)
		}
		src = "package snippet\n\n" + importHints + "\nfunc _(" + params + ") " + results + " {\n" + src + "}\n"
	}
	out, err := imports.Process(name, []byte(src), &imports.Options{Comments: true, TabIndent: true, TabWidth: 8})
	if err != nil {
		return "", nil, fmt.Errorf("%s: %v\n%s", b.where(), err, src)
	}
	return name, out, nil
}

// tempModule makes a module outside the tree that requires this one
// through a replace directive, with this module's go.sum, so snippets build
// against the working tree exactly as a user's code builds against a commit.
func tempModule(t *testing.T) string {
	r := root(t)
	dir := t.TempDir()
	mod, err := os.ReadFile(filepath.Join(r, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?s)\ntool \(.*?\)\n`).ReplaceAllString(string(mod), "\n")
	text = strings.Replace(text, "module github.com/leadwaycrm/leadway", "module leadway.example/snippets", 1)
	text += "\nrequire github.com/leadwaycrm/leadway v0.0.0-00010101000000-000000000000\n" +
		"\nreplace github.com/leadwaycrm/leadway => " + r + "\n"
	sum, err := os.ReadFile(filepath.Join(r, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGoSnippetsCompile type-checks every Go block of README.md and
// docs/*.md, each as a package of its own, with go vet.
func TestGoSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every snippet; skipped with -short")
	}
	dir := tempModule(t)
	where := map[string]string{} // package directory -> doc position
	for _, doc := range guides(t) {
		for _, b := range blocks(t, doc) {
			if b.lang != "go" {
				continue
			}
			name, src, err := snippetFile(b)
			if err != nil {
				t.Error(err)
				continue
			}
			pkg := fmt.Sprintf("s%03d", len(where))
			where[pkg] = b.where()
			if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, pkg, name), src, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(where) == 0 {
		t.Fatal("found no Go snippet in the docs")
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := string(out)
		for pkg, pos := range where {
			msg = strings.ReplaceAll(msg, "./"+pkg+"/", pos+" ")
			msg = strings.ReplaceAll(msg, "leadway.example/snippets/"+pkg, pos)
		}
		t.Fatalf("go vet of the docs' Go snippets failed: %v\n%s", err, msg)
	}
	t.Logf("%d Go snippets compile", len(where))
}
