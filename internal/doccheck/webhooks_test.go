package doccheck

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)

// TestWebhooksWalkthrough runs the shell examples of docs/webhooks.md, as
// TestShellExamples does, and then holds the walkthrough to what it shows:
// the listener started in the first terminal must print exactly the lines
// of the blocks marked <!-- listener output --> (times, ports, ids and
// webhookIds masked), the events the fake sent and the line it ends with.
func TestWebhooksWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the walkthrough's commands; skipped with -short")
	}
	const doc = "docs/webhooks.md"
	var (
		shell []block
		want  []string
	)
	for _, b := range blocks(t, doc) {
		switch {
		case b.lang == "sh" || b.lang == "console":
			shell = append(shell, b)
		case b.lang == "text" && b.directive == "listener output":
			want = append(want, splitLines(b.body)...)
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s shows no listener output", doc)
	}
	s := newSession(t, doc, leadwayCommand(t), shell)
	var listener *background
	for _, b := range shell {
		switch {
		case strings.HasPrefix(b.directive, "not-run:"):
		case b.directive == "background":
			s.start(b)
			if strings.HasPrefix(strings.TrimSpace(b.body), "leadway webhook listen") {
				listener = s.bg[len(s.bg)-1]
			}
		case b.lang == "console":
			s.transcript(b)
		default:
			if out, err := s.run(s.script("set -eo pipefail\n"+b.body), blockLimit); err != nil {
				t.Fatalf("%s: %v\n%s", b.where(), err, out)
			}
		}
	}
	if listener == nil {
		t.Fatalf("%s starts no leadway webhook listen in the background", doc)
	}
	// The fake delivers in the background: wait for every event shown,
	// then stop the commands as Ctrl-C would, for the listener's last line.
	events := func(lines []string) int {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, `{"type":`) {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); events(splitLines(listener.out.String())) < events(want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	s.stopBackground()
	got := splitLines(listener.out.String())
	for i := range got {
		got[i] = uuidRE.ReplaceAllString(got[i], "UUID")
	}
	for i := range want {
		want[i] = uuidRE.ReplaceAllString(want[i], "UUID")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the listener printed:\n%s\n\n%s shows:\n%s", strings.Join(got, "\n"), doc, strings.Join(want, "\n"))
	}
}
