// Command sizecheck fails when a hand-written Go file grows past 350 lines
// or a function past 80: past that, a file or a function usually holds two
// ideas. Tests and generated code are exempt. It reads the files git knows
// of, so it checks what a clone would hold.
//
// Usage, from the module root: go run ./internal/sizecheck
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"strings"
)

const (
	maxFileLines = 350
	maxFuncLines = 80
)

func main() {
	files, err := goFiles()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sizecheck:", err)
		os.Exit(2)
	}
	var problems []string
	for _, f := range files {
		p, err := check(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sizecheck:", err)
			os.Exit(2)
		}
		problems = append(problems, p...)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "sizecheck: %d places past the limits (file %d lines, function %d); split them by what the code does:\n",
			len(problems), maxFileLines, maxFuncLines)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "  "+p)
		}
		os.Exit(1)
	}
	fmt.Printf("sizecheck: %d hand-written files, none over %d lines, no function over %d\n", len(files), maxFileLines, maxFuncLines)
}

// goFiles lists the hand-written, non-test Go files git knows of.
func goFiles() ([]string, error) {
	out, err := exec.Command("git", "ls-files", "-co", "--exclude-standard", "*.go").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			continue // deleted in the working tree
		}
		files = append(files, f)
	}
	return files, nil
}

// check reports the file if it is too long, and each function in it that
// is, unless the file is generated.
func check(path string) ([]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(f) {
		return nil, nil
	}
	var problems []string
	if n := bytes.Count(src, []byte("\n")); n > maxFileLines {
		problems = append(problems, fmt.Sprintf("%s: %d lines", path, n))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		var body *ast.BlockStmt
		name := "func literal"
		switch fn := n.(type) {
		case *ast.FuncDecl:
			body, name = fn.Body, fn.Name.Name
		case *ast.FuncLit:
			body = fn.Body
		}
		if body == nil {
			return true
		}
		from, to := fset.Position(n.Pos()), fset.Position(body.End())
		if lines := to.Line - from.Line + 1; lines > maxFuncLines {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %d lines", path, from.Line, name, lines))
		}
		return true
	})
	return problems, nil
}
