package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is the command running in the background.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
}

// start runs the binary with args and waits until its stderr or stdout
// has a line starting with ready; it returns the rest of that line.
func start(t *testing.T, ready string, args ...string) (*process, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	p := &process{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	rest, ok := p.waitFor(func() (string, bool) {
		for _, out := range []string{p.stderr.String(), p.stdout.String()} {
			for _, line := range strings.Split(out, "\n") {
				if r, ok := strings.CutPrefix(line, ready); ok {
					return r, true
				}
			}
		}
		return "", false
	})
	if !ok {
		t.Fatalf("%v did not print %q: stdout %q, stderr %q", args, ready, p.stdout, p.stderr)
	}
	return p, rest
}

// waitFor polls cond for up to 20s, while the process runs: it waits on
// another process, which virtual time cannot stand in for.
func (p *process) waitFor(cond func() (string, bool)) (string, bool) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if s, ok := cond(); ok {
			return s, true
		}
		select {
		case <-p.exited:
			return cond()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return "", false
}

// interrupt sends SIGINT and returns the exit code.
func (p *process) interrupt(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGINT")
	}
	return p.cmd.ProcessState.ExitCode()
}

// testApp is a local app behind `webhook listen --forward`: it verifies
// with the fake's key, so a forward that changed a byte or dropped the
// signature would be refused.
type testApp struct {
	*httptest.Server
	mu     sync.Mutex
	events []webhook.Event
	fails  int
}

func startTestApp(t *testing.T, fails int) *testApp {
	a := &testApp{fails: fails}
	h, err := webhook.NewHandler(func(_ context.Context, e *webhook.Event) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.events = append(a.events, *e)
		if a.fails > 0 {
			a.fails--
			return errors.New("the app's database is down")
		}
		return nil
	}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	a.Server = httptest.NewServer(h)
	t.Cleanup(a.Close)
	return a
}

// TestWebhookListenForward: the fake sends, the listener verifies, prints
// and forwards; a failing app makes the listener answer 429, and the fake's
// redelivery gets through.
func TestWebhookListenForward(t *testing.T) {
	app := startTestApp(t, 1)
	listener, url := start(t, "Listening for webhooks on ", "webhook", "listen", "--addr", "127.0.0.1:0",
		"--public-key", leadwaytest.WebhookPublicKeySPKI, "--forward", app.URL+"/webhooks")
	srv := startFake(t, leadwaytest.WithWebhook(url), leadwaytest.WithWebhookRetry(20*time.Millisecond, 3))
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	// Bounded, so that a fault fails the test rather than hang it past the
	// point where the listener process could still be stopped.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := client.Upsert(ctx, leadway.UpsertRequest{Id: leadway.Ptr("deal-1"), PipelineId: "p", LocationId: "l", PipelineStageId: leadway.Ptr("s1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Upsert(ctx, leadway.UpsertRequest{Id: leadway.Ptr("deal-1"), PipelineId: "p", LocationId: "l", PipelineStageId: leadway.Ptr("s2")}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	sent := srv.Webhooks()
	if len(sent) != 3 {
		t.Fatalf("the fake sent %d events, want 3 (create, update, stage update)", len(sent))
	}
	// The first event failed in the app once: 429, then delivered.
	if a := sent[0].Attempts; len(a) != 2 || a[0].Status != 429 || a[1].Status != 200 || sent[0].Outcome != leadwaytest.WebhookDelivered {
		t.Errorf("first event's attempts %+v, outcome %v", a, sent[0].Outcome)
	}
	// Stdout: each event taken, as sent, one per line; the first twice (it
	// was taken, failed to forward, and taken again when the fake sent it
	// again, which may be after the others).
	want := []string{string(sent[0].Body), string(sent[0].Body), string(sent[1].Body), string(sent[2].Body)}
	got := strings.Split(strings.TrimSuffix(listener.stdout.String(), "\n"), "\n")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("listener stdout:\n%s\nwant these lines, in any order:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	app.mu.Lock()
	var types []string
	for _, e := range app.events {
		types = append(types, string(e.Type))
	}
	app.mu.Unlock()
	slices.Sort(types)
	if strings.Join(types, ",") != "OpportunityCreate,OpportunityCreate,OpportunityStageUpdate,OpportunityUpdate" {
		t.Errorf("the app got %v", types)
	}

	// An unsigned delivery is refused, and reported on stderr.
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"type":"OpportunityCreate"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned delivery: %d, want 401", resp.StatusCode)
	}
	if code := listener.interrupt(t); code != exitOK {
		t.Errorf("exit code %d after SIGINT, want 0", code)
	}
	stderr := listener.stderr.String()
	for _, line := range []string{
		"Forwarding each event taken to " + app.URL + "/webhooks\n",
		"webhook: answered 429 to delivery " + sent[0].WebhookID + ": processing failed: forward to " + app.URL + "/webhooks: the app answered 429 Too Many Requests\n",
		"webhook: answered 401: signature refused: no X-GHL-Signature header\n",
		"Stopped after 4 events taken, 2 deliveries not taken.\n",
	} {
		if !strings.Contains(stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, stderr)
		}
	}
}

func TestWebhookListenUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--public-key", "not-a-key"}, "webhook listen: --public-key: webhook: public key is not base64"},
		{[]string{"--public-key", "AAAA"}, "--public-key: webhook: public key is 3 bytes"},
		{[]string{"--forward", "localhost:3000"}, `--forward "localhost:3000": must be an absolute http or https URL`},
		{[]string{"--max-age", "0s"}, "--max-age 0s: must be between 1s and 24h"},
		{[]string{"--port", "1"}, "unknown flag: --port"},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		wantFailure(t, runCLI(t, nil, "", append([]string{"webhook", "listen"}, tc.args...)...), exitUsage, tc.want)
	}
	if r := runCLI(t, nil, "", "webhook"); r.code != exitUsage || !strings.Contains(r.stderr, "leadway webhook [command]") {
		t.Errorf("webhook without a command: %+v", r)
	}
	if r := runCLI(t, nil, "", "webhook", "listen", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Exit codes:\n  0  stopped by Ctrl-C or SIGTERM") {
		t.Errorf("webhook listen --help: %+v", r)
	}

	// An address in use: exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wantFailure(t, runCLI(t, nil, "", "webhook", "listen", "--addr", ln.Addr().String()), exitFailure, "address already in use")
}

// TestFakeWebhookURL: `leadway fake --webhook-url` sends signed events and
// says at the end what became of them.
func TestFakeWebhookURL(t *testing.T) {
	var (
		mu   sync.Mutex
		got  [][]byte
		sigs []string
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, sigs = append(got, b), append(sigs, r.Header.Get(webhook.SignatureHeader))
		mu.Unlock()
	}))
	defer rcv.Close()
	fake, url := start(t, "Fake Leadway API listening on ", "fake", "--addr", "127.0.0.1:0", "--token", "tok", "--quiet", "--webhook-url", rcv.URL)
	r := runCLI(t, []string{"LEADWAY_BASE_URL=" + url, "LEADWAY_TOKEN=tok"}, "", "upsert", "--pipeline-id", "p", "--location-id", "l")
	if r.code != 0 {
		t.Fatalf("upsert: %+v", r)
	}
	if _, ok := fake.waitFor(func() (string, bool) { mu.Lock(); defer mu.Unlock(); return "", len(got) == 1 }); !ok {
		t.Fatal("the receiver got no event")
	}
	if code := fake.interrupt(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if err := webhook.Verify(got[0], sigs[0], leadwaytest.WebhookPublicKey()); err != nil || !bytes.Contains(got[0], []byte(`"type":"OpportunityCreate"`)) {
		t.Errorf("event %s: %v", got[0], err)
	}
	out := fake.stdout.String()
	for _, want := range []string{
		"leadway webhook listen --public-key " + leadwaytest.WebhookPublicKeySPKI + "\n",
		"Webhooks: 1 delivered, 0 lost (answered other than 2xx or 429, or unreachable), 0 pending.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range [][]string{
		{"--webhook-url", "ftp://x", `--webhook-url "ftp://x": must be an absolute http or https URL`},
		{"--webhook-url", "http://x", "--webhook-retry-interval", "0s", "--webhook-retry-interval 0s: must be at least 1ms"},
		{"--webhook-url", "http://x", "--webhook-retry-attempts", "-1", "--webhook-retry-attempts -1: must be between 0 and 100"},
	} {
		args := append([]string{"fake", "--addr", "127.0.0.1:0"}, tc[:len(tc)-1]...)
		wantFailure(t, runCLI(t, nil, "", args...), exitUsage, tc[len(tc)-1])
	}
	wantFailure(t, runCLI(t, nil, "", "demo", "--webhook-url", "localhost:8081"), exitUsage, `demo: --webhook-url "localhost:8081": must be an absolute http or https URL`)
}

// TestDemoWebhookURL: the demo's fake sends the webhooks of its two
// changes, and the demo says what became of each before it ends.
func TestDemoWebhookURL(t *testing.T) {
	app := startTestApp(t, 0)
	r := runCLI(t, nil, "", "demo", "--webhook-url", app.URL)
	if r.code != 0 {
		t.Fatalf("demo: %+v", r)
	}
	i := strings.Index(r.stdout, "3. The fake sent the webhooks of both changes:\n")
	if i < 0 {
		t.Fatalf("the demo says nothing of its webhooks:\n%s", r.stdout)
	}
	var outcomes []string
	for _, line := range strings.Split(r.stdout[i:], "\n")[1:] {
		if line != "" {
			typ, rest, _ := strings.Cut(line, " ")
			_, outcome, _ := strings.Cut(rest, ": ")
			outcomes = append(outcomes, typ+" "+outcome)
		}
	}
	want := "OpportunityCreate delivered,OpportunityUpdate delivered,OpportunityStageUpdate delivered,OpportunityMonetaryValueUpdate delivered"
	if strings.Join(outcomes, ",") != want {
		t.Errorf("demo says %q, want %q", outcomes, want)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.events) != 4 || app.events[1].Opportunity.PipelineStageId != "stage-proposal" || app.events[3].Opportunity.MonetaryValue != 1500.5 {
		t.Errorf("the app got %+v", app.events)
	}
}
