package leadway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

// Everything the fault matrix logs or returns, checked for the token once
// all tests have run.
var (
	leakMu  sync.Mutex
	leakLog bytes.Buffer
	leakErr []string
)

type lockedWriter struct{}

func (lockedWriter) Write(p []byte) (int, error) {
	leakMu.Lock()
	defer leakMu.Unlock()
	return leakLog.Write(p)
}

// recordErr keeps what err shows a caller for the leak check: its message,
// and the raw bodies, messages and headers of the typed errors in it.
func recordErr(err error) error {
	if err == nil {
		return nil
	}
	seen := []string{err.Error(), fmt.Sprintf("%+v", err)}
	var apiErr *leadway.APIError
	if errors.As(err, &apiErr) {
		seen = append(seen, string(apiErr.Body), strings.Join(apiErr.Messages, "\n"), fmt.Sprint(apiErr.Header))
	}
	var respErr *leadway.ResponseError
	if errors.As(err, &respErr) {
		seen = append(seen, string(respErr.Body))
	}
	leakMu.Lock()
	leakErr = append(leakErr, seen...)
	leakMu.Unlock()
	return err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		leakMu.Lock()
		all := leakLog.String() + strings.Join(leakErr, "\n")
		lines := strings.Count(leakLog.String(), "\n")
		leakMu.Unlock()
		for _, tok := range []string{testToken, "tok-1", "tok-2"} {
			if strings.Contains(all, tok) {
				fmt.Fprintf(os.Stderr, "FAIL: token %q found in a log line or error string\n", tok)
				code = 1
			}
		}
		if lines > 0 && !strings.Contains(all, "REDACTED") {
			fmt.Fprintln(os.Stderr, "FAIL: body logging never showed a redacted Authorization header")
			code = 1
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// pipeNet is an in-memory network for tests under testing/synctest: the
// client dials net.Pipe connections that an http.Server accepts, so every
// wait on either side runs on the bubble's virtual clock.
type pipeNet struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	refuse    atomic.Int32 // dials still to refuse
	dials     atomic.Int32
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.closeOnce.Do(func() { close(n.done) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80} }

func (n *pipeNet) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	n.dials.Add(1)
	if n.refuse.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, net.ErrClosed
	}
}

// world is one test's server, network and client.
type world struct {
	t      *testing.T
	net    *pipeNet
	client *leadway.Client
	hits   atomic.Int32
	mu     sync.Mutex
	seen   []recorded // every request that reached a handler
	fault  *faultRT
}

// newWorld serves h on api.test (and any other host) over a pipeNet and
// returns a client for it, with debug and body logging into the leak check.
// Call it inside synctest.Test; it cleans up before the bubble ends.
func newWorld(t *testing.T, h http.HandlerFunc, opts ...leadway.Option) *world {
	t.Helper()
	w := &world{t: t, net: &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.seen = append(w.seen, recorded{r.Method, r.Host + r.URL.Path, r.Header.Clone(), string(body)})
		w.mu.Unlock()
		// As some proxies do: the leak check must find it redacted.
		rw.Header().Set("X-Debug-Request-Authorization", r.Header.Get("Authorization"))
		h(rw, r)
	})}
	go srv.Serve(w.net)
	tr := &http.Transport{DialContext: w.net.dial}
	w.fault = &faultRT{base: tr}
	logger := slog.New(slog.NewJSONHandler(lockedWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []leadway.Option{
		leadway.WithBaseURL("http://api.test"),
		leadway.WithInsecureHTTP(), // api.test is not loopback
		leadway.WithHTTPClient(&http.Client{Transport: w.fault}),
		leadway.WithLogger(logger),
		leadway.WithBodyLogging(),
	}
	c, err := leadway.New(testToken, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.client = c
	t.Cleanup(func() {
		// Shutdown lets handlers that are still running finish.
		srv.Shutdown(context.Background())
		srv.Close()
		tr.CloseIdleConnections()
		w.net.Close()
	})
	return w
}

func (w *world) upsert(ctx context.Context, req leadway.UpsertRequest) (*leadway.UpsertResult, error) {
	res, err := w.client.Upsert(ctx, req)
	return res, recordErr(err)
}

func (w *world) requests() []recorded {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]recorded(nil), w.seen...)
}

// assertSameBodies checks that every attempt sent byte-identical bodies.
func (w *world) assertSameBodies() {
	w.t.Helper()
	reqs := w.requests()
	for i := range reqs {
		if reqs[i].body != reqs[0].body {
			w.t.Errorf("attempt %d sent %q, attempt 1 sent %q", i+1, reqs[i].body, reqs[0].body)
		}
	}
}

func (w *world) wantHits(n int) {
	w.t.Helper()
	if got := int(w.hits.Load()); got != n {
		w.t.Errorf("server saw %d requests, want %d", got, n)
	}
}

// faultRT injects faults the server cannot: a reset while the client reads
// the body.
type faultRT struct {
	base       http.RoundTripper
	resetAfter atomic.Int32 // > 0: cut the next body after this many bytes
}

func (f *faultRT) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if n := f.resetAfter.Swap(0); n > 0 {
		resp.Body = &resetBody{r: io.LimitReader(resp.Body, int64(n)), c: resp.Body}
	}
	return resp, nil
}

func (f *faultRT) CloseIdleConnections() {
	if c, ok := f.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type resetBody struct {
	r io.Reader
	c io.Closer
}

func (b *resetBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return n, err
}

func (b *resetBody) Close() error { return b.c.Close() }

// script answers the i-th request with the i-th handler, repeating the last.
func script(hs ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(hs)-1)
		hs[i](w, r)
	}
}

func withHeaders(h http.HandlerFunc, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		h(w, r)
	}
}

var (
	ok200   = reply(200, "application/json", createdJSON)
	updated = reply(200, "application/json", `{"new":false,"opportunity":{"id":"opp-1"}}`)
)

func withID() leadway.UpsertRequest {
	r := minimal()
	r.Id = leadway.Ptr("opp-1")
	return r
}

// rate429 is a 429 with the vendor's headers.
// Its body echoes the request's Authorization, as error pages of proxies do.
func rate429(remaining, dailyRemaining string) http.HandlerFunc {
	return withHeaders(echoAuth(429, `{"statusCode":429,"message":"Too Many Requests for %s"}`),
		"X-RateLimit-Limit-Daily", "200000",
		"X-RateLimit-Daily-Remaining", dailyRemaining,
		"X-RateLimit-Interval-Milliseconds", "10000",
		"X-RateLimit-Max", "100",
		"X-RateLimit-Remaining", remaining)
}

// A 429 with part of the daily budget left waits the announced burst
// window, then sends the same bytes again.
func TestRetry429WaitsTheAnnouncedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, script(rate429("0", "150000"), ok200))
		start := time.Now()
		res, err := w.upsert(context.Background(), minimal())
		if err != nil {
			t.Fatal(err)
		}
		if !res.New {
			t.Error("result is not the created opportunity")
		}
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("took %s, want the announced 10s window", took)
		}
		w.wantHits(2)
		w.assertSameBodies()
	})
}

// Retry-After-Ms and Retry-After take precedence over the burst window.
func TestRetry429HonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		want          time.Duration
	}{
		{"Retry-After-Ms", "1500", 1500 * time.Millisecond},
		{"Retry-After", "3", 3 * time.Second},
	} {
		t.Run(tc.header, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, script(withHeaders(rate429("0", "150000"), tc.header, tc.value), ok200))
				start := time.Now()
				if _, err := w.upsert(context.Background(), minimal()); err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took != tc.want {
					t.Errorf("took %s, want %s", took, tc.want)
				}
				w.wantHits(2)
			})
		})
	}
}

// A spent daily budget is not retried: waiting would not help today.
func TestRetry429DailyBudgetFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, rate429("50", "0"))
		start := time.Now()
		_, err := w.upsert(context.Background(), minimal())
		var rlErr *leadway.RateLimitError
		if !errors.As(err, &rlErr) {
			t.Fatalf("err = %v, want *RateLimitError", err)
		}
		if !rlErr.Daily || rlErr.APIError.StatusCode != 429 || rlErr.RateLimit.DailyLimit != 200000 || rlErr.RateLimit.DailyRemaining != 0 {
			t.Errorf("RateLimitError = %+v / %+v, want daily, 429, 200000 limit, 0 left", rlErr, rlErr.RateLimit)
		}
		// The bubble's clock starts at midnight UTC: a full day to wait.
		if rlErr.RetryAfter != 24*time.Hour || !strings.Contains(err.Error(), "try again in 24h0m0s") {
			t.Errorf("RetryAfter = %s (%q), want 24h", rlErr.RetryAfter, err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("took %s, want no wait", took)
		}
		w.wantHits(1)
	})
}

// A huge Retry-After is cut by the context's deadline or WithMaxRetryWait.
func TestRetry429HugeRetryAfterIsCapped(t *testing.T) {
	huge := withHeaders(rate429("0", "150000"), "Retry-After", "86400")
	t.Run("deadline wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(huge, ok200))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err := w.upsert(ctx, minimal())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want DeadlineExceeded", err)
			}
			var rlErr *leadway.RateLimitError
			if !errors.As(err, &rlErr) || rlErr.RetryAfter != 24*time.Hour {
				t.Errorf("err = %v, want the last attempt's *RateLimitError with RetryAfter 24h", err)
			}
			if took := time.Since(start); took != 0 {
				t.Errorf("took %s; a wait that would outlast the deadline should end at once", took)
			}
			w.wantHits(1)
		})
	})
	t.Run("cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(huge, ok200), leadway.WithMaxRetryWait(45*time.Second))
			start := time.Now()
			if _, err := w.upsert(context.Background(), minimal()); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != 45*time.Second {
				t.Errorf("took %s, want the 45s cap", took)
			}
			w.wantHits(2)
		})
	})
}

// 503 says the request was not taken on, so even a create is retried,
// within the retry budget.
func TestRetry503(t *testing.T) {
	unavailable := reply(503, "text/plain", "upstream unavailable")
	t.Run("then success", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(unavailable, ok200))
			start := time.Now()
			res, err := w.upsert(context.Background(), minimal())
			if err != nil || !res.New {
				t.Fatalf("Upsert = %+v, %v; want the created opportunity", res, err)
			}
			if took := time.Since(start); took < 250*time.Millisecond || took > 500*time.Millisecond {
				t.Errorf("took %s, want a first backoff between 250ms and 500ms", took)
			}
			w.wantHits(2)
			w.assertSameBodies()
		})
	})
	t.Run("gives up after the default retries", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, unavailable)
			_, err := w.upsert(context.Background(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Attempts != 3 {
				t.Fatalf("err = %v, want *APIError 503 after 3 attempts", err)
			}
			w.wantHits(1 + leadway.DefaultMaxRetries)
		})
	})
	t.Run("retries off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, unavailable, leadway.WithMaxRetries(0))
			_, err := w.upsert(context.Background(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
				t.Fatalf("err = %v, want *APIError 503", err)
			}
			w.wantHits(1)
		})
	})
}

var internal500 = echoAuth(500, `{"statusCode":500,"message":"Internal server error for %s"}`)

// echoAuth answers with a JSON body that quotes the request's Authorization
// where format has %s.
func echoAuth(status int, format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reply(status, "application/json", fmt.Sprintf(format, r.Header.Get("Authorization")))(w, r)
	}
}

// A 500 to a create may follow an applied request: no second create.
func TestRetry500WithoutIDIsAnUnknownOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, script(internal500, ok200))
		_, err := w.upsert(context.Background(), minimal())
		var unknown *leadway.UnknownOutcomeError
		var apiErr *leadway.APIError
		if !errors.As(err, &unknown) || !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
			t.Fatalf("err = %v, want *UnknownOutcomeError wrapping *APIError 500", err)
		}
		if !strings.Contains(err.Error(), "outcome unknown") || !strings.Contains(err.Error(), "Internal server error") {
			t.Errorf("error %q should say the outcome is unknown and give the server's message", err)
		}
		w.wantHits(1) // no second create
	})
}

// With an id the upsert is idempotent, so a 500 is retried.
func TestRetry500WithIDIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, script(internal500, updated))
		res, err := w.upsert(context.Background(), withID())
		if err != nil || res.New {
			t.Fatalf("Upsert = %+v, %v; want the updated opportunity", res, err)
		}
		w.wantHits(2)
		w.assertSameBodies()
	})
}

// A refused connection never delivered the request, so a create is
// retried.
func TestRetryConnectionRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ok200)
		w.net.refuse.Store(1)
		res, err := w.upsert(context.Background(), minimal())
		if err != nil || !res.New {
			t.Fatalf("Upsert = %+v, %v; want success after a retry", res, err)
		}
		if d := w.net.dials.Load(); d != 2 {
			t.Errorf("dialled %d times, want 2", d)
		}
		w.wantHits(1)
	})
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ok200)
		w.net.refuse.Store(100)
		_, err := w.upsert(context.Background(), minimal())
		if !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasPrefix(err.Error(), "leadway: 3 attempts failed: dial tcp") {
			t.Fatalf("err = %v, want ECONNREFUSED after 3 attempts", err)
		}
		w.wantHits(0)
	})
}

// The server aborts mid-body, or the connection is reset under the
// client while it reads.
func TestRetryResetMidBody(t *testing.T) {
	abort := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(createdJSON)))
		w.WriteHeader(200)
		io.WriteString(w, createdJSON[:20])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	t.Run("server abort without id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(abort, ok200))
			_, err := w.upsert(context.Background(), minimal())
			var unknown *leadway.UnknownOutcomeError
			if !errors.As(err, &unknown) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want *UnknownOutcomeError wrapping unexpected EOF", err)
			}
			w.wantHits(1)
		})
	})
	t.Run("server abort with id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(abort, updated))
			if _, err := w.upsert(context.Background(), withID()); err != nil {
				t.Fatal(err)
			}
			w.wantHits(2)
			w.assertSameBodies()
		})
	})
	t.Run("reset injected without id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, ok200)
			w.fault.resetAfter.Store(10)
			_, err := w.upsert(context.Background(), minimal())
			var unknown *leadway.UnknownOutcomeError
			if !errors.As(err, &unknown) || !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("err = %v, want *UnknownOutcomeError wrapping ECONNRESET", err)
			}
			w.wantHits(1)
		})
	})
}

// Headers that arrive after the attempt timeout: the request was sent.
func TestRetryHeadersPastTheTimeout(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Minute)
		ok200(w, r)
	}
	t.Run("without id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(slow, ok200), leadway.WithAttemptTimeout(10*time.Second))
			start := time.Now()
			_, err := w.upsert(context.Background(), minimal())
			var unknown *leadway.UnknownOutcomeError
			if !errors.As(err, &unknown) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want *UnknownOutcomeError wrapping the attempt's deadline", err)
			}
			if took := time.Since(start); took != 10*time.Second {
				t.Errorf("took %s, want the 10s attempt timeout", took)
			}
			w.wantHits(1)
		})
	})
	t.Run("with id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(slow, updated), leadway.WithAttemptTimeout(10*time.Second))
			if _, err := w.upsert(context.Background(), withID()); err != nil {
				t.Fatal(err)
			}
			w.wantHits(2)
			w.assertSameBodies()
		})
	})
	t.Run("caller deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, slow)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := w.upsert(ctx, withID())
			var unknown *leadway.UnknownOutcomeError
			if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &unknown) {
				t.Fatalf("err = %v, want DeadlineExceeded, and no unknown outcome for an idempotent call", err)
			}
			w.wantHits(1)
		})
	})
}

// Answers that cannot be used are clear errors, and are
// not retried since the server accepted the request.
func TestRetryUnusableAnswers(t *testing.T) {
	big := `{"new":true,"opportunity":{"name":"` + strings.Repeat("x", 8<<10) + `"}}`
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		opts    []leadway.Option
		want    string
		wantLen int
	}{
		{"truncated JSON", reply(200, "application/json", `{"new":true,"opportunity":{"id":"op`), nil, "invalid JSON", 35},
		{"wrong content type", reply(200, "text/plain", `new=true`), nil, "not JSON", 8},
		{"oversized body", reply(200, "application/json", big), []leadway.Option{leadway.WithMaxResponseBytes(4096)}, "exceeds the size limit", 4096},
		{"oversized at the default limit", reply(200, "application/json", `{"new":true,"opportunity":{"name":"`+strings.Repeat("x", 4<<20)+`"}}`), nil, "exceeds the size limit", 4 << 20},
		{"oversized chunked body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for range 64 {
				io.WriteString(w, big[:1024])
				http.NewResponseController(w).Flush()
			}
		}, []leadway.Option{leadway.WithMaxResponseBytes(4096)}, "exceeds the size limit", 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, tc.h, tc.opts...)
				_, err := w.upsert(context.Background(), minimal())
				var respErr *leadway.ResponseError
				if !errors.As(err, &respErr) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want *ResponseError saying %q", err, tc.want)
				}
				if len(respErr.Body) != tc.wantLen {
					t.Errorf("kept %d bytes of body, want %d", len(respErr.Body), tc.wantLen)
				}
				w.wantHits(1)
			})
		})
	}
}

// A gateway's HTML page is an *APIError with the page as body. A 502 may
// follow an upstream that applied the request, so only a call with an id is
// retried.
func TestRetryHTML502(t *testing.T) {
	page := "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
	t.Run("with id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, reply(502, "text/html", page))
			_, err := w.upsert(context.Background(), withID())
			var apiErr *leadway.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.StatusCode != 502 || string(apiErr.Body) != page || apiErr.Messages != nil || apiErr.Attempts != 3 {
				t.Errorf("APIError = %+v, want 502 with the page as body after 3 attempts", apiErr)
			}
			if want := "leadway: 502 Bad Gateway (74-byte text/html body) after 3 attempts"; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			w.wantHits(3)
			w.assertSameBodies()
		})
	})
	t.Run("without id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, reply(502, "text/html", page))
			_, err := w.upsert(context.Background(), minimal())
			var unknown *leadway.UnknownOutcomeError
			var apiErr *leadway.APIError
			if !errors.As(err, &unknown) || !errors.As(err, &apiErr) || string(apiErr.Body) != page || apiErr.Attempts != 1 {
				t.Fatalf("err = %v, want *UnknownOutcomeError wrapping the 502 page", err)
			}
			if want := "leadway: outcome unknown, the opportunity may have been written (check before sending again without an id): 502 Bad Gateway (74-byte text/html body)"; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			w.wantHits(1)
		})
	})
}

// The token never follows a redirect to another host.
func TestRedirectToAnotherHostDropsAuthorization(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
			if r.Host == "api.test" {
				http.Redirect(rw, r, "http://evil.test/opportunities/upsert", http.StatusTemporaryRedirect)
				return
			}
			ok200(rw, r)
		})
		if _, err := w.upsert(context.Background(), minimal()); err != nil {
			t.Fatal(err)
		}
		reqs := w.requests()
		if len(reqs) != 2 || reqs[1].path != "evil.test/opportunities/upsert" {
			t.Fatalf("requests = %+v, want api.test then evil.test", reqs)
		}
		if reqs[0].header.Get("Authorization") == "" {
			t.Error("the first host got no Authorization")
		}
		if got := reqs[1].header.Get("Authorization"); got != "" {
			t.Errorf("the other host got Authorization %q", got)
		}
		w.assertSameBodies()
	})
}

// Plain http to a remote host is refused before any request is sent, since
// New fails.
func TestPlainHTTPToARemoteHostIsRefused(t *testing.T) {
	for _, u := range []string{"http://crm.example.com", "http://10.1.2.3:8080/api"} {
		c, err := leadway.New(testToken, leadway.WithBaseURL(u))
		if err == nil || c != nil || !strings.Contains(err.Error(), "plain http") {
			t.Errorf("New(%s) = %v, %v; want a refusal", u, c, recordErr(err))
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:8080"} {
		if _, err := leadway.New(testToken, leadway.WithBaseURL(u)); err != nil {
			t.Errorf("New(%s) = %v; loopback must be allowed", u, err)
		}
	}
}

// A redirect that downgrades to plain http is refused too.
func TestRedirectToPlainHTTPIsRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(rw, r, "http://example.com/opportunities/upsert", http.StatusPermanentRedirect)
	}))
	defer srv.Close()
	// example.com is in the test certificate; every dial goes to srv.
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	defer tr.CloseIdleConnections()
	c, err := leadway.New(testToken, leadway.WithBaseURL("https://example.com"), leadway.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	if recordErr(err) == nil || !strings.Contains(err.Error(), "refusing to send the token over plain http to example.com") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if hits.Load() != 1 {
		t.Errorf("TLS server saw %d requests, want 1", hits.Load())
	}
}

// A cancel during the backoff ends the call at once.
func TestCancelDuringBackoffReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, reply(503, "text/plain", "busy"))
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(100 * time.Millisecond) // inside the first backoff (≥ 250ms)
			cancel()
		}()
		start := time.Now()
		_, err := w.upsert(ctx, minimal())
		var apiErr *leadway.APIError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Fatalf("err = %v, want Canceled and the last *APIError 503", err)
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Errorf("took %s, want to return when cancelled, at 100ms", took)
		}
		w.wantHits(1)
	})
}

// tokens hands out its tokens in turn, repeating the last.
type tokens struct {
	mu   sync.Mutex
	list []string
	n    int
}

func (s *tokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.list[min(s.n, len(s.list)-1)]
	s.n++
	return &oauth2.Token{AccessToken: tok}, nil
}

// A 401 with a token source is retried once, with a new token only.
func TestRetry401WithARefreshingTokenSource(t *testing.T) {
	unauthorized := reply(401, "application/json", `{"statusCode":401,"message":"Invalid JWT","error":"Unauthorized"}`)
	onlyTok2 := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			unauthorized(w, r)
			return
		}
		ok200(w, r)
	}
	newClient := func(t *testing.T, w *world, ts oauth2.TokenSource) *leadway.Client {
		c, err := leadway.NewFromTokenSource(ts,
			leadway.WithBaseURL("http://api.test"), leadway.WithInsecureHTTP(),
			leadway.WithHTTPClient(&http.Client{Transport: w.fault}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("fresh token", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, onlyTok2)
			c := newClient(t, w, &tokens{list: []string{"tok-1", "tok-2"}})
			if _, err := c.Upsert(context.Background(), minimal()); recordErr(err) != nil {
				t.Fatal(err)
			}
			reqs := w.requests()
			if len(reqs) != 2 || reqs[0].header.Get("Authorization") != "Bearer tok-1" || reqs[1].header.Get("Authorization") != "Bearer tok-2" {
				t.Errorf("requests = %d, want tok-1 then tok-2", len(reqs))
			}
			w.assertSameBodies()
		})
	})
	t.Run("exactly one retry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, unauthorized)
			c := newClient(t, w, &tokens{list: []string{"tok-1", "tok-2", "tok-3", "tok-4"}})
			_, err := c.Upsert(context.Background(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(recordErr(err), &apiErr) || apiErr.StatusCode != 401 || apiErr.Messages[0] != "Invalid JWT" {
				t.Fatalf("err = %v, want *APIError 401", err)
			}
			w.wantHits(2)
		})
	})
	t.Run("same token is not retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, unauthorized)
			c := newClient(t, w, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-1"}))
			_, err := c.Upsert(context.Background(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(recordErr(err), &apiErr) || apiErr.StatusCode != 401 {
				t.Fatalf("err = %v, want *APIError 401", err)
			}
			w.wantHits(1)
		})
	})
	t.Run("static token is not retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, unauthorized)
			_, err := w.upsert(context.Background(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
				t.Fatalf("err = %v, want *APIError 401", err)
			}
			w.wantHits(1)
		})
	})
}

// One client serves many goroutines.
func TestConcurrentCallsShareOneClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ok200)
		const calls = 256
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for i := range calls {
			wg.Go(func() {
				req := minimal()
				req.LocationId = fmt.Sprintf("loc-%d", i%4)
				if _, err := w.upsert(context.Background(), req); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		w.wantHits(calls)
	})
}
