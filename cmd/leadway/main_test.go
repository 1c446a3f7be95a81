package main

// End-to-end tests: the real binary, run against leadwaytest's fake in this
// process, checked by its stdout, stderr and exit code.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"go.uber.org/goleak"
)

// binary is the command built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leadway-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "leadway")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the command: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary with args, the given environment (and nothing of
// the test's LEADWAY_* variables) and stdin.
func runCLI(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %v: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEADWAY_") {
			env = append(env, kv)
		}
	}
	return env
}

// fakeEnv points the command at srv with its token.
func fakeEnv(srv *leadwaytest.Server) []string {
	return []string{"LEADWAY_BASE_URL=" + srv.URL, "LEADWAY_TOKEN=" + srv.Token}
}

func startFake(t *testing.T, opts ...leadwaytest.Option) *leadwaytest.Server {
	t.Helper()
	srv := leadwaytest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// wantFailure checks a failed run: the exit code, a single line on stderr
// that contains want, and nothing on stdout.
func wantFailure(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code = %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "leadway: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr = %q, want one line starting with leadway:", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}

// answer decodes the command's output.
type answer struct {
	New         bool `json:"new"`
	Opportunity struct {
		ID              string   `json:"id"`
		Name            string   `json:"name"`
		PipelineStageID string   `json:"pipelineStageId"`
		MonetaryValue   float64  `json:"monetaryValue"`
		Followers       []string `json:"followers"`
	} `json:"opportunity"`
}

func decode(t *testing.T, r result) answer {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var a answer
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil || len(raw) != 2 {
		t.Fatalf("stdout is not {new, opportunity}: %v\n%s", err, r.stdout)
	}
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestUpsertFromFlags(t *testing.T) {
	srv := startFake(t)
	r := runCLI(t, fakeEnv(srv), "", "upsert",
		"--pipeline-id", "pipe-1", "--location-id", "loc-1", "--name", "Website redesign",
		"--stage-id", "stage-1", "--value", "220", "--status", "open",
		"--follower", "u1", "--follower", "u2")
	a := decode(t, r)
	if !a.New || a.Opportunity.ID == "" || a.Opportunity.Name != "Website redesign" || a.Opportunity.MonetaryValue != 220 ||
		strings.Join(a.Opportunity.Followers, ",") != "u1,u2" {
		t.Errorf("answer = %+v", a)
	}

	// Update it by id, and remove a follower.
	r = runCLI(t, fakeEnv(srv), "", "upsert", "--id", a.Opportunity.ID,
		"--pipeline-id", "pipe-1", "--location-id", "loc-1", "--stage-id", "stage-2",
		"--follower", "u1", "--followers-action", "remove")
	b := decode(t, r)
	if b.New || b.Opportunity.ID != a.Opportunity.ID || b.Opportunity.PipelineStageID != "stage-2" ||
		b.Opportunity.Name != "Website redesign" || strings.Join(b.Opportunity.Followers, ",") != "u2" {
		t.Errorf("answer = %+v", b)
	}

	// --remove-all-followers.
	r = runCLI(t, fakeEnv(srv), "", "upsert", "--id", a.Opportunity.ID,
		"--pipeline-id", "pipe-1", "--location-id", "loc-1", "--remove-all-followers")
	if c := decode(t, r); len(c.Opportunity.Followers) != 0 {
		t.Errorf("followers = %q after remove-all", c.Opportunity.Followers)
	}
}

func TestUpsertFromJSON(t *testing.T) {
	srv := startFake(t)
	body := `{"pipelineId":"pipe-1","locationId":"loc-1","name":"From JSON","monetaryValue":99.5}`

	t.Run("stdin", func(t *testing.T) {
		a := decode(t, runCLI(t, fakeEnv(srv), body, "upsert", "--data", "-"))
		if !a.New || a.Opportunity.Name != "From JSON" || a.Opportunity.MonetaryValue != 99.5 {
			t.Errorf("answer = %+v", a)
		}
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "opp.json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if a := decode(t, runCLI(t, fakeEnv(srv), "", "upsert", "--data", "@"+path)); a.Opportunity.Name != "From JSON" {
			t.Errorf("answer = %+v", a)
		}
	})
	t.Run("base URL flag beats the environment", func(t *testing.T) {
		env := []string{"LEADWAY_BASE_URL=http://127.0.0.1:1", "LEADWAY_TOKEN=" + srv.Token}
		if a := decode(t, runCLI(t, env, body, "upsert", "--base-url", srv.URL, "--data", "-")); !a.New {
			t.Errorf("answer = %+v", a)
		}
	})
}

func TestUpsertUsageAndValidationErrors(t *testing.T) {
	srv := startFake(t)
	path := filepath.Join(t.TempDir(), "missing.json")
	tests := []struct {
		name  string
		env   []string
		stdin string
		args  []string
		want  string
	}{
		{"bad JSON", fakeEnv(srv), `{"pipelineId":`, []string{"--data", "-"}, "--data: the JSON ends early, at line 1, column 15"},
		{"unknown JSON field", fakeEnv(srv), `{"pipelineId":"p","locationId":"l","gender":"f"}`, []string{"--data", "-"}, `--data: unknown field "gender": the request has no such field`},
		{"two JSON values", fakeEnv(srv), `{"pipelineId":"p","locationId":"l"} {}`, []string{"--data", "-"}, "more than one JSON value"},
		{"missing file", fakeEnv(srv), "", []string{"--data", "@" + path}, "no such file"},
		{"data and field flags", fakeEnv(srv), "{}", []string{"--data", "-", "--name", "x"}, "--data and --name cannot be combined"},
		{"missing token", []string{"LEADWAY_BASE_URL=" + srv.URL}, "", []string{"--pipeline-id", "p", "--location-id", "l"}, "LEADWAY_TOKEN is not set"},
		{"missing pipeline", fakeEnv(srv), "", []string{"--location-id", "l"}, "--pipeline-id (pipelineId) is required"},
		{"bad status", fakeEnv(srv), "", []string{"--pipeline-id", "p", "--location-id", "l", "--status", "closed"}, `--status (status) "closed" is not one of`},
		{"unknown flag", fakeEnv(srv), "", []string{"--token", "x"}, "upsert: unknown flag: --token (see leadway upsert --help)"},
		{"bad base URL", []string{"LEADWAY_TOKEN=t"}, "", []string{"--base-url", "ftp://x", "--pipeline-id", "p", "--location-id", "l"}, "scheme must be https or http"},
		{"token over plain http to another host", []string{"LEADWAY_TOKEN=t", "LEADWAY_BASE_URL=http://example.com"}, "", []string{"--pipeline-id", "p", "--location-id", "l"}, "refusing to send the token over plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFailure(t, runCLI(t, tt.env, tt.stdin, append([]string{"upsert"}, tt.args...)...), exitUsage, tt.want)
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the fake got %d requests, want none", n)
	}
}

func TestUpsertAPIError(t *testing.T) {
	srv := startFake(t)
	args := []string{"upsert", "--pipeline-id", "p", "--location-id", "l"}

	env := []string{"LEADWAY_BASE_URL=" + srv.URL, "LEADWAY_TOKEN=wrong-token"}
	r := runCLI(t, env, "", args...)
	wantFailure(t, r, exitAPI, "leadway: 401 Unauthorized: Invalid token")
	if strings.Contains(r.stderr, "wrong-token") {
		t.Error("stderr shows the token")
	}

	srv.FailNext(1, leadwaytest.Fault{Status: 422, Body: []byte(`{"statusCode":422,"message":["property gender should not exist"],"error":"Unprocessable Entity"}`)})
	wantFailure(t, runCLI(t, fakeEnv(srv), "", args...), exitAPI, "leadway: 422 Unprocessable Entity: property gender should not exist")
}

func TestUpsertRateLimited(t *testing.T) {
	args := []string{"upsert", "--pipeline-id", "p", "--location-id", "l"}
	t.Run("burst, retries off", func(t *testing.T) {
		srv := startFake(t, leadwaytest.WithRateLimit(1, time.Hour))
		decode(t, runCLI(t, fakeEnv(srv), "", args...))
		wantFailure(t, runCLI(t, fakeEnv(srv), "", append(args, "--max-retries", "0")...), exitRateLimited, "rate limited")
	})
	t.Run("daily budget", func(t *testing.T) {
		srv := startFake(t, leadwaytest.WithDailyLimit(1))
		decode(t, runCLI(t, fakeEnv(srv), "", args...))
		wantFailure(t, runCLI(t, fakeEnv(srv), "", args...), exitRateLimited, "daily budget used up (limit 1)")
	})
}

func TestUpsertNetworkAndServerErrors(t *testing.T) {
	srv := startFake(t)
	args := []string{"upsert", "--pipeline-id", "p", "--location-id", "l"}

	srv.FailNext(1, leadwaytest.Fault{Status: 500})
	wantFailure(t, runCLI(t, fakeEnv(srv), "", args...), exitUnavailable, "outcome unknown")

	srv.FailNext(3, leadwaytest.Fault{Status: 503, Header: http.Header{"Retry-After": {"0"}}})
	wantFailure(t, runCLI(t, fakeEnv(srv), "", args...), exitUnavailable, "503 Service Unavailable")

	srv.FailNext(1, leadwaytest.Fault{Truncate: true})
	wantFailure(t, runCLI(t, fakeEnv(srv), "", args...), exitUnavailable, "outcome unknown")

	// Nothing listens on a port that was just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	env := []string{"LEADWAY_BASE_URL=" + closed, "LEADWAY_TOKEN=t"}
	wantFailure(t, runCLI(t, env, "", append(args, "--max-retries", "0")...), exitUnavailable, "connection refused")
}

func TestUpsertDryRun(t *testing.T) {
	srv := startFake(t)
	r := runCLI(t, fakeEnv(srv), "", "upsert", "--dry-run",
		"--pipeline-id", "pipe-1", "--location-id", "loc-1", "--name", "Website redesign")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := "POST " + srv.URL + "/opportunities/upsert\n" +
		"Authorization: Bearer REDACTED\n" +
		"Content-Type: application/json\n" +
		"User-Agent: leadway-go/" + leadway.LibraryVersion + "\n" +
		"Version: 2021-07-28\n" +
		"\n" +
		`{"followers":[],"followersActionType":"add","isRemoveAllFollowers":false,"locationId":"loc-1","name":"Website redesign","pipelineId":"pipe-1"}` + "\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if strings.Contains(r.stdout, srv.Token) {
		t.Error("the dry run shows the token")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the dry run sent %d requests", n)
	}

	// No token needed; validation still applies.
	if r := runCLI(t, nil, "", "upsert", "--dry-run", "--pipeline-id", "p", "--location-id", "l"); r.code != 0 ||
		!strings.HasPrefix(r.stdout, "POST https://services.leadconnectorhq.com/opportunities/upsert\n") {
		t.Errorf("without a token: %+v", r)
	}
	wantFailure(t, runCLI(t, nil, "", "upsert", "--dry-run", "--location-id", "l"), exitUsage, "--pipeline-id (pipelineId) is required")

	// A token in the base URL's path, as some proxies take it, or in a field
	// is shown redacted, as the client's logs show it.
	r = runCLI(t, []string{"LEADWAY_TOKEN=tok-secret-1", "LEADWAY_BASE_URL=" + srv.URL + "/tok-secret-1"}, "", "upsert", "--dry-run",
		"--pipeline-id", "pipe-1", "--location-id", "loc-1", "--name", "tok-secret-1")
	if r.code != 0 || strings.Contains(r.stdout, "tok-secret-1") ||
		!strings.HasPrefix(r.stdout, "POST "+srv.URL+"/REDACTED/opportunities/upsert\n") || !strings.Contains(r.stdout, `"name":"REDACTED"`) {
		t.Errorf("a token in the URL and the body: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestDemo(t *testing.T) {
	r := runCLI(t, nil, "", "demo")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	created := strings.Index(r.stdout, "created opportunity opp00000000000000001 \"Website redesign\" in stage stage-qualified, value 220, new=true")
	updated := strings.Index(r.stdout, "updated opportunity opp00000000000000001 \"Website redesign\" in stage stage-proposal, value 1500.5, new=false")
	if created < 0 || updated < created {
		t.Errorf("stdout does not show created then updated:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, `"new": true`) || !strings.Contains(r.stdout, `"new": false`) {
		t.Errorf("stdout lacks the JSON answers:\n%s", r.stdout)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}} {
		r := runCLI(t, nil, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Exit codes:") || !strings.Contains(r.stdout, "4  rate limited") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	for _, cmd := range []string{"upsert", "import", "fake", "demo"} {
		r := runCLI(t, nil, "", cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "\nUsage:\n  leadway "+cmd) || !strings.Contains(r.stdout, "--verbose") {
			t.Errorf("%s --help: %+v", cmd, r)
		}
		if h := runCLI(t, nil, "", "help", cmd); h != r {
			t.Errorf("help %s differs from %s --help:\n%s", cmd, cmd, h.stdout)
		}
	}
	if r := runCLI(t, nil, "", "upsert", "--help"); !strings.Contains(r.stdout, "      --remove-all-followers ") ||
		!strings.Contains(r.stdout, "      --follower user ID ") {
		t.Errorf("upsert --help lacks the --flag spellings:\n%s", r.stdout)
	}
	wantFailure(t, runCLI(t, nil, "", "launch"), exitUsage, `unknown command "launch"`)
	// A near miss gets a suggestion.
	wantFailure(t, runCLI(t, nil, "", "upsret"), exitUsage, `leadway: unknown command "upsret"; did you mean "upsert"? (see leadway --help)`)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if r := runCLI(t, nil, "", args...); r.code != 0 || r.stdout != "leadway "+version()+"\n" || !strings.HasPrefix(r.stdout, "leadway ") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	if r := runCLI(t, nil, "", "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "__start_leadway") {
		t.Errorf("completion bash: code %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, ""); r.code != exitUsage || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("no command: %+v", r)
	}
}

func TestFakeCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "fake", "--addr", "127.0.0.1:0", "--token", "tok-e2e")
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var url, token string
	for (url == "" || token == "") && lines.Scan() {
		line := lines.Text()
		if u, ok := strings.CutPrefix(line, "Fake Leadway API listening on "); ok {
			url = u
		}
		if tok, ok := strings.CutPrefix(line, "Token: "); ok {
			token = tok
		}
	}
	if url == "" || token != "tok-e2e" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("url %q, token %q", url, token)
	}

	// The printed URL and token work, as curl would use them.
	req, _ := http.NewRequest(http.MethodPost, url+"/opportunities/upsert",
		strings.NewReader(`{"pipelineId":"p","locationId":"l","followers":[],"isRemoveAllFollowers":false,"followersActionType":"add"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"opp00000000000000001"`) {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(string(rest), "Stopped after 1 requests (1 created") {
		t.Errorf("stdout after the signal: %q", rest)
	}
	if !strings.Contains(stderr.String(), "status=200") {
		t.Errorf("stderr lacks the request log: %q", stderr.String())
	}
}

func TestFlagValuesAreUsageErrors(t *testing.T) {
	srv := startFake(t)
	base := []string{"upsert", "--pipeline-id", "p", "--location-id", "l"}
	wantFailure(t, runCLI(t, fakeEnv(srv), "", append(base, "--timeout", "-1s")...), exitUsage, "--timeout -1s: must not be negative")
	wantFailure(t, runCLI(t, fakeEnv(srv), "", append(base, "--dry-run", "--max-retries", "11")...), exitUsage, "max retries 11")
	wantFailure(t, runCLI(t, nil, "", "fake", "--rate-max", "-1"), exitUsage, "must be between 1 and 1000000")
}

func TestConnectionRefusedIsOneClearLine(t *testing.T) {
	srv := leadwaytest.NewServer()
	url := srv.URL
	srv.Close() // nothing listens there any more
	r := runCLI(t, []string{"LEADWAY_BASE_URL=" + url, "LEADWAY_TOKEN=t"}, "",
		"upsert", "--pipeline-id", "p", "--location-id", "l", "--max-retries", "0")
	wantFailure(t, r, exitUnavailable, "connection refused")
	if strings.Count(r.stderr, "leadway:") != 1 {
		t.Errorf("stderr = %q, want the prefix once", r.stderr)
	}
}

func TestVerboseShowsRetriesAndWaits(t *testing.T) {
	srv := startFake(t)
	srv.FailNext(1, leadwaytest.Fault{Status: 503, Header: http.Header{"Retry-After": {"0"}}})
	r := runCLI(t, fakeEnv(srv), "", "upsert", "--verbose", "--pipeline-id", "p", "--location-id", "l", "--name", "n")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"msg=\"leadway: attempt\"", "status=503", "msg=\"leadway: retrying\"", "wait=0s", "attempt=2", "status=200"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, srv.Token) {
		t.Error("stderr shows the token")
	}
	// stdout is the server's answer as it came: compact, not re-indented.
	if !strings.HasPrefix(r.stdout, `{"`) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout = %q", r.stdout)
	}
	// Without --verbose, stderr stays quiet.
	srv.FailNext(1, leadwaytest.Fault{Status: 503, Header: http.Header{"Retry-After": {"0"}}})
	if r := runCLI(t, fakeEnv(srv), "", "upsert", "--pipeline-id", "p", "--location-id", "l"); r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
