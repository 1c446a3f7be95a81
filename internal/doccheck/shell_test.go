package doccheck

import (
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// leadwayCommand builds the leadway command from this tree once for all
// files, so that every shell example finds it on PATH.
func leadwayCommand(t *testing.T) string {
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "leadway")
		// -trimpath, as the examples build, so that both share the build cache.
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, "./cmd/leadway")
		cmd.Dir = root(t)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the leadway command: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// blockLimit bounds one block: the longest example, an import that waits
// out a rate window, takes seconds.
const blockLimit = 3 * time.Minute

// TestShellExamples runs every shell example of README.md and docs/*.md:
// sh blocks must exit 0, console transcripts must print what they show.
// A block that cannot run here says why in a not-run directive.
func TestShellExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every shell example; skipped with -short")
	}
	for _, doc := range guides(t) {
		docBlocks := blocks(t, doc)
		var shell []block
		for _, b := range docBlocks {
			if b.lang == "sh" || b.lang == "console" {
				shell = append(shell, b)
			}
		}
		if len(shell) == 0 {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(doc), ".md"), func(t *testing.T) {
			t.Parallel()
			s := newSession(t, doc, leadwayCommand(t), shell)
			for _, b := range shell {
				switch {
				case strings.HasPrefix(b.directive, "not-run:"):
					if strings.TrimSpace(strings.TrimPrefix(b.directive, "not-run:")) == "" {
						t.Errorf("%s: a not-run directive must say why", b.where())
					}
					t.Logf("%s: not run: %s", b.where(), strings.TrimPrefix(b.directive, "not-run:"))
				case b.directive == "background":
					s.start(b)
				case b.lang == "console":
					s.transcript(b)
				default:
					out, err := s.run(s.script("set -eo pipefail\n"+b.body), blockLimit)
					if err != nil {
						t.Errorf("%s: %v\n%s", b.where(), err, out)
					}
				}
			}
		})
	}
}
