package doccheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// block is one fenced code block of a Markdown file.
type block struct {
	file      string // path relative to the module root
	line      int    // line of the opening fence, 1-based
	lang      string // the fence's info string, e.g. "go" or "sh"
	directive string // the HTML comment just before the fence, without <!-- -->
	body      string
}

func (b block) where() string { return b.file + ":" + strconv.Itoa(b.line) }

// root is the module root, found from this file's place in it.
func root(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the module root")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// guides are the files whose snippets and shell examples are checked: the
// README and the manual in docs/.
func guides(t testing.TB) []string {
	r := root(t)
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(r, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range more {
		rel, _ := filepath.Rel(r, m)
		files = append(files, rel)
	}
	return files
}

var directiveRE = regexp.MustCompile(`^<!--\s*(.*?)\s*-->$`)

// blocks returns the fenced code blocks of a Markdown file.
func blocks(t testing.TB, rel string) []block {
	data, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out       []block
		cur       *block
		fence     string
		directive string
		body      strings.Builder
	)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur != nil {
			if strings.TrimSpace(line) == fence {
				cur.body = body.String()
				out = append(out, *cur)
				cur, directive = nil, ""
				body.Reset()
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			fence = trimmed[:strings.LastIndex(trimmed, "`")+1]
			cur = &block{file: rel, line: n, lang: strings.TrimSpace(trimmed[len(fence):]), directive: directive}
			continue
		}
		if m := directiveRE.FindStringSubmatch(trimmed); m != nil {
			directive = m[1]
		} else if trimmed != "" {
			directive = ""
		}
	}
	if cur != nil {
		t.Fatalf("%s: the block opened there is never closed", cur.where())
	}
	return out
}
