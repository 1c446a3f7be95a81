package main

import (
	"runtime/debug"
	"testing"
)

// TestMessagesSpeakInFlags pins, word for word, what a user sees for the
// mistakes people make first: each names the flag or the JSON field, what
// it accepts and what came, and lists every problem at once.
func TestMessagesSpeakInFlags(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"every missing field, by flag", "", []string{"upsert", "--name", "x"},
			"leadway: upsert: 2 problems with the request, nothing was sent: --pipeline-id (pipelineId) is required; --location-id (locationId) is required\n"},
		{"request checked before the token", "", []string{"upsert", "--pipeline-id", "p", "--location-id", "l", "--status", "closed"},
			`leadway: upsert: 1 problem with the request, nothing was sent: --status (status) "closed" is not one of open, won, lost, abandoned, all` + "\n"},
		{"a JSON value of the wrong kind", `{"pipelineId":"p","locationId":"l","monetaryValue":"220"}`, []string{"upsert", "--data", "-"},
			"leadway: --data: monetaryValue: want a number, got a string\n"},
		{"an array where a string is due", `{"pipelineId":["p"]}`, []string{"upsert", "--data", "-"},
			"leadway: --data: pipelineId: want a string, got an array\n"},
		{"truncated JSON", "{\"pipelineId\": \"p\",\n \"monetaryValue\": 22", []string{"upsert", "--data", "-"},
			"leadway: --data: the JSON ends early, at line 2, column 21\n"},
		{"a syntax error", "{\"pipelineId\": \"p\",\n \"name\": x}", []string{"upsert", "--data", "-"},
			"leadway: --data: not JSON at line 2, column 10: 'x' looking for beginning of value\n"},
		{"missing fields in --data, by field", `{"name":"x"}`, []string{"upsert", "--data", "-"},
			"leadway: upsert: --data: 2 problems with the request, nothing was sent: pipelineId is required; locationId is required\n"},
		{"a number flag", "", []string{"import", "--per-location", "abc", "in.csv"},
			`leadway: import: --per-location "abc": want a whole number, such as 4 (see leadway import --help)` + "\n"},
		{"a decimal flag", "", []string{"upsert", "--value", "1,5"},
			`leadway: upsert: --value "1,5": want a number, such as 220 or 1500.5 (see leadway upsert --help)` + "\n"},
		{"a duration flag without a value", "", []string{"upsert", "--timeout"},
			"leadway: upsert: --timeout needs a value: a duration, such as 500ms, 30s or 2m (see leadway upsert --help)\n"},
		{"a typo of a command", "", []string{"imprt"},
			`leadway: unknown command "imprt"; did you mean "import"? (see leadway --help)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.stdin, tt.args...)
			if r.code != exitUsage || r.stderr != tt.want || r.stdout != "" {
				t.Errorf("leadway %q:\ncode %d, stderr:\n%q\nwant code %d, stderr:\n%q", tt.args, r.code, r.stderr, exitUsage, tt.want)
			}
		})
	}
}

// TestVersionNamesTheBuild covers the three builds --version can report.
func TestVersionNamesTheBuild(t *testing.T) {
	tests := []struct {
		info debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203082708-79d73a3b2433"}},
			"v0.0.0-20261203082708-79d73a3b2433"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "79d73a3b24339f0c1e0a5a61d6a1b8b0c0ffee00"},
			{Key: "vcs.time", Value: "2026-12-03T08:27:08Z"},
			{Key: "vcs.modified", Value: "true"},
		}}, "0.0.0-dev (commit 79d73a3b2433, 2026-12-03T08:27:08Z, with uncommitted changes)"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			"0.0.0-dev (built from source without VCS information)"},
	}
	for _, tt := range tests {
		if got := versionOf(&tt.info); got != tt.want {
			t.Errorf("versionOf(%+v) = %q, want %q", tt.info.Main, got, tt.want)
		}
	}
}
