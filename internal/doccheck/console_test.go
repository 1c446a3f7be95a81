package doccheck

import (
	"fmt"
	"regexp"
	"strings"
)

// step is one command of a transcript and the output shown for it.
type step struct {
	command string
	want    []string
}

// parseTranscript splits a console block into its commands and outputs.
// A command starts with "$ " and goes on over lines ending in a backslash.
func parseTranscript(body string) []step {
	var steps []step
	cont := false
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		switch {
		case cont:
			steps[len(steps)-1].command += "\n" + line
		case strings.HasPrefix(line, "$ "):
			steps = append(steps, step{command: strings.TrimPrefix(line, "$ ")})
		case len(steps) > 0:
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
		}
		cont = strings.HasSuffix(line, "\\") && len(steps) > 0
	}
	return steps
}

// marker ends each command's output in a transcript run, with its exit
// status; the subshell after it gives "echo $?" that status back.
const marker = "@@doccheck-exit"

var markerRE = regexp.MustCompile(`\n?` + marker + ` (\d+)\n`)

// masks hide what differs from run to run: times, durations, ports, the
// fake's random tokens, ids and rates.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?`), "TIME"},
	{regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT`), "DATE"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\bfake-[0-9a-f]{16,}\b`), "fake-TOKEN"},
	{regexp.MustCompile(`\bopp\d{17}\b`), "oppID"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)\b`), "DUR"},
	{regexp.MustCompile(`\b\d+(\.\d+)? rows/s\b`), "N rows/s"},
}

func mask(line string) string {
	for _, m := range masks {
		line = m.re.ReplaceAllString(line, m.with)
	}
	return strings.TrimRight(line, " \t\r")
}

// transcript runs a console block's commands in one shell and compares
// each command's output with the lines shown after it.
func (s *session) transcript(b block) {
	steps := parseTranscript(b.body)
	var script strings.Builder
	for _, st := range steps {
		fmt.Fprintf(&script, "%s\n__rc=$?; printf '\\n%s %%d\\n' $__rc; (exit $__rc)\n", st.command, marker)
	}
	out, err := s.run(s.script(script.String()), blockLimit)
	if err != nil && !strings.Contains(out, marker) {
		s.t.Errorf("%s: %v\n%s", b.where(), err, out)
		return
	}
	outputs := markerRE.Split(out, -1)
	if len(outputs) < len(steps) {
		s.t.Errorf("%s: %d of %d commands ended; output:\n%s", b.where(), len(outputs)-1, len(steps), out)
		return
	}
	loose := b.directive == "console: loose"
	for i, st := range steps {
		got := splitLines(s.ports.Replace(outputs[i]))
		want := splitLines(s.ports.Replace(strings.Join(st.want, "\n")))
		if !matches(got, want, loose) {
			s.t.Errorf("%s: $ %s\nprinted:\n%s\nthe docs show:\n%s", b.where(), st.command,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func splitLines(text string) []string {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = mask(l)
	}
	return lines
}

// matches compares masked lines: exactly, or when loose, want as a
// subsequence of got.
func matches(got, want []string, loose bool) bool {
	if !loose {
		return strings.Join(got, "\n") == strings.Join(want, "\n")
	}
	j := 0
	for _, g := range got {
		if j < len(want) && g == want[j] {
			j++
		}
	}
	return j == len(want)
}
