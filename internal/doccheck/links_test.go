package doccheck

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// markdownFiles are every Markdown file of the project outside node_modules.
func markdownFiles(t *testing.T) []string {
	r := root(t)
	var files []string
	err := filepath.WalkDir(r, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != r {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(r, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE = regexp.MustCompile(`(?m)^#{1,6}\s+(.*?)\s*$`)
	codeRE    = regexp.MustCompile("(?s)```.*?```")
)

// anchors returns the GitHub anchors of a Markdown file's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, m := range headingRE.FindAllStringSubmatch(codeRE.ReplaceAllString(text, ""), -1) {
		a := slug(m[1])
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// slug turns a heading into its anchor the way GitHub does: lower case,
// punctuation dropped, spaces to hyphens.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestRelativeLinksResolve checks every relative link of every Markdown
// file: the file it names exists, and so does the heading its #anchor names.
func TestRelativeLinksResolve(t *testing.T) {
	r := root(t)
	for _, rel := range markdownFiles(t) {
		data, err := os.ReadFile(filepath.Join(r, rel))
		if err != nil {
			t.Fatal(err)
		}
		text := codeRE.ReplaceAllString(string(data), "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			u, err := url.Parse(target)
			if err != nil {
				t.Errorf("%s: link %q does not parse: %v", rel, target, err)
				continue
			}
			if u.Scheme != "" || u.Host != "" {
				continue // an outside link; not checked here
			}
			file := rel
			if u.Path != "" {
				file = filepath.Join(filepath.Dir(rel), u.Path)
				if _, err := os.Stat(filepath.Join(r, file)); err != nil {
					t.Errorf("%s: link %q: %s does not exist", rel, target, file)
					continue
				}
			}
			if u.Fragment == "" || !strings.HasSuffix(file, ".md") {
				continue
			}
			doc, err := os.ReadFile(filepath.Join(r, file))
			if err != nil {
				t.Errorf("%s: link %q: %v", rel, target, err)
				continue
			}
			if !anchors(string(doc))[u.Fragment] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", rel, target, file, u.Fragment)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Retries and rate limits":           "retries-and-rate-limits",
		"The `leadway` command":             "the-leadway-command",
		"`leadway fake`: a local API":       "leadway-fake-a-local-api",
		"Exit codes":                        "exit-codes",
		"OAuth apps and agencies (fleets)":  "oauth-apps-and-agencies-fleets",
		"Per call: the client vs. net/http": "per-call-the-client-vs-nethttp",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}
