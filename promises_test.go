package leadway_test

// Regression tests for the client's promises: no secret in a log line or an
// error, no create sent twice by anything below the client, and every
// accepted option works.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"golang.org/x/oauth2"
)

// syncBuffer is a log sink that handlers of several goroutines can share.
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

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// echoToken answers with the request's token in a body, in an unusual
// header and inside a JSON string that escapes it, as proxies and debug
// pages do.
func echoToken(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok := strings.TrimPrefix(auth, "Bearer ")
		escaped := strings.NewReplacer("/", `\/`, "+", `\u002b`, "&", `\u0026`).Replace(tok)
		w.Header().Set("X-Debug-Request-Authorization", auth)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"statusCode":%d,"message":"Invalid token: %s","detail":"token=%s","raw":"%s"}`, status, auth, escaped, tok)
	}
}

// A token that JSON and URL encoders escape.
const escapableToken = "pit/4f1c+9e2a&secret"

func TestTokenEchoedByTheServerIsRedactedEverywhere(t *testing.T) {
	scan := func(t *testing.T, logs string, err error, secrets ...string) {
		t.Helper()
		if !strings.Contains(logs, "REDACTED") {
			t.Errorf("log shows no redaction at all:\n%s", logs)
		}
		var apiErr *leadway.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %v, want an *APIError", err)
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("log carries token %q:\n%s", s, logs)
			}
			if strings.Contains(err.Error(), s) || bytes.Contains(apiErr.Body, []byte(s)) || strings.Contains(strings.Join(apiErr.Messages, " "), s) {
				t.Errorf("error carries token %q: %s / body %s", s, err, apiErr.Body)
			}
		}
	}
	t.Run("static token", func(t *testing.T) {
		var logs syncBuffer
		srv := newServer(t, echoToken(400))
		c, err := leadway.New(escapableToken, leadway.WithBaseURL(srv), leadway.WithoutRateLimiter(),
			leadway.WithLogger(debugLogger(&logs)), leadway.WithBodyLogging())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Upsert(context.Background(), minimal())
		scan(t, logs.String(), err, escapableToken, `pit\/4f1c\u002b9e2a\u0026secret`, "4f1c+9e2a")
	})
	t.Run("token source, earlier tokens too", func(t *testing.T) {
		var logs syncBuffer
		var first atomic.Value
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			// The second answer echoes the token of the first request.
			if first.CompareAndSwap(nil, r.Header.Get("Authorization")) {
				echoToken(401)(w, r)
				return
			}
			r.Header.Set("Authorization", first.Load().(string))
			echoToken(403)(w, r)
		})
		c, err := leadway.NewFromTokenSource(&tokens{list: []string{"tok/one+A", "tok/two+B"}}, leadway.WithBaseURL(srv),
			leadway.WithoutRateLimiter(), leadway.WithLogger(debugLogger(&logs)), leadway.WithBodyLogging())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Upsert(context.Background(), minimal())
		var apiErr *leadway.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
			t.Fatalf("err = %v, want the 403 after a refreshed token", err)
		}
		scan(t, logs.String(), err, "tok/one+A", "tok/two+B", `tok\/one\u002bA`, "one+A")
	})
}

// h2ResetServer is a minimal HTTP/2 server (prior knowledge, no TLS) that
// reads each request whole, then resets the first stream with
// PROTOCOL_ERROR and answers later ones with 200: golang/go#47635, where
// net/http's HTTP/2 transport replays the body by itself.
type h2ResetServer struct {
	ln      net.Listener
	creates atomic.Int32
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startH2ResetServer(t *testing.T) *h2ResetServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h2ResetServer{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func h2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	f := make([]byte, 9, 9+len(payload))
	f[0], f[1], f[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	f[3], f[4] = typ, flags
	binary.BigEndian.PutUint32(f[5:], stream)
	return append(f, payload...)
}

func (s *h2ResetServer) serve(c net.Conn) {
	defer c.Close()
	preface := make([]byte, 24)
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	c.Write(h2Frame(0x4, 0, 0, nil)) // SETTINGS
	hdr := make([]byte, 9)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags, stream := hdr[3], hdr[4], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
		if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
			return
		}
		switch {
		case typ == 0x4 && flags&0x1 == 0: // SETTINGS: acknowledge
			c.Write(h2Frame(0x4, 0x1, 0, nil))
		case (typ == 0x0 || typ == 0x1) && flags&0x1 != 0: // END_STREAM: the request is whole
			if s.creates.Add(1) == 1 {
				c.Write(h2Frame(0x3, 0, stream, []byte{0, 0, 0, 0x1})) // RST_STREAM PROTOCOL_ERROR
				continue
			}
			// :status 200, content-type: application/json (HPACK).
			block := append([]byte{0x88, 0x0f, 0x10, byte(len("application/json"))}, "application/json"...)
			c.Write(h2Frame(0x1, 0x4, stream, block))
			c.Write(h2Frame(0x0, 0x1, stream, []byte(createdJSON)))
		}
	}
}

// idempotencyKey is company-wide middleware that marks every request with
// an Idempotency-Key, which makes net/http treat a POST as replayable.
type idempotencyKey struct{ base http.RoundTripper }

func (m idempotencyKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Idempotency-Key", "k-1")
	return m.base.RoundTrip(r)
}

func (m idempotencyKey) CloseIdleConnections() {
	m.base.(*http.Transport).CloseIdleConnections()
}

func TestNothingBelowTheClientReplaysACreate(t *testing.T) {
	wantUnknown := func(t *testing.T, err error) {
		t.Helper()
		var unknown *leadway.UnknownOutcomeError
		if !errors.As(err, &unknown) {
			t.Errorf("err = %v, want *UnknownOutcomeError", err)
		}
	}
	t.Run("HTTP/2 stream reset after the body", func(t *testing.T) {
		srv := startH2ResetServer(t)
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &p}
		defer tr.CloseIdleConnections()
		var logs syncBuffer
		c, err := leadway.New(testToken, leadway.WithBaseURL("http://"+srv.ln.Addr().String()),
			leadway.WithHTTPClient(&http.Client{Transport: tr}), leadway.WithoutRateLimiter(),
			leadway.WithLogger(debugLogger(&logs)), leadway.WithBodyLogging())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Upsert(context.Background(), minimal())
		wantUnknown(t, err)
		if n := srv.creates.Load(); n != 1 {
			t.Errorf("%d creates arrived, want 1", n)
		}
		if !strings.Contains(logs.String(), `"request_body":"{\"followers\":[]`) {
			t.Errorf("body logging lost the request body:\n%s", logs.String())
		}
	})
	t.Run("HTTP/1 Idempotency-Key and a dropped kept-alive connection", func(t *testing.T) {
		var creates atomic.Int32
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if creates.Add(1) == 2 {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			ok200(w, r)
		})
		tr := &http.Transport{}
		c, err := leadway.New(testToken, leadway.WithBaseURL(srv), leadway.WithoutRateLimiter(),
			leadway.WithHTTPClient(&http.Client{Transport: idempotencyKey{tr}}))
		if err != nil {
			t.Fatal(err)
		}
		defer tr.CloseIdleConnections()
		if _, err := c.Upsert(context.Background(), minimal()); err != nil {
			t.Fatal(err)
		}
		_, err = c.Upsert(context.Background(), minimal())
		wantUnknown(t, err)
		if n := creates.Load(); n != 2 {
			t.Errorf("%d creates arrived for two calls, want 2", n)
		}
	})
}

func TestGatewayErrorsEndACreate(t *testing.T) {
	for _, status := range []int{500, 501, 502, 504, 520, 524} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, script(reply(status, "text/html", "<h1>gateway</h1>"), ok200))
				_, err := w.upsert(context.Background(), minimal())
				var unknown *leadway.UnknownOutcomeError
				var apiErr *leadway.APIError
				if !errors.As(err, &unknown) || !errors.As(err, &apiErr) || apiErr.StatusCode != status {
					t.Fatalf("err = %v, want *UnknownOutcomeError wrapping *APIError %d", err, status)
				}
				w.wantHits(1)
			})
		})
	}
	t.Run("502 with an id is retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, script(reply(502, "text/html", "<h1>gateway</h1>"), updated))
			if _, err := w.upsert(context.Background(), withID()); err != nil {
				t.Fatal(err)
			}
			w.wantHits(2)
		})
	})
}

// macSource hands out a token of another type than Bearer.
type macSource struct{}

func (macSource) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "mac-1", TokenType: "mac"}, nil
}

func TestTokenTypeIsHonoured(t *testing.T) {
	var got atomic.Value
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		ok200(w, r)
	})
	c, err := leadway.NewFromTokenSource(macSource{}, leadway.WithBaseURL(srv), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(context.Background(), minimal()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "MAC mac-1" {
		t.Errorf("Authorization = %q, want %q", got.Load(), "MAC mac-1")
	}
}

func TestBaseURLErrorsCarryNoCredentials(t *testing.T) {
	for _, raw := range []string{
		"https://SECRET@crm.example.com",
		"ftp://SECRET:SECRET@crm.example.com",
		"https://user:SEC?RET@crm.example.com",
		"https://user:SEC#RET@crm.example.com",
		"https://crm.example.com/?token=SECRET",
		"https://crm.example.com/#access_token=SECRET",
		"https://u:SECRET@crm.example.com:bad/",
		"h\x7fttps://SECRET@crm.example.com",
	} {
		_, err := leadway.New(testToken, leadway.WithBaseURL(raw))
		if err == nil {
			t.Errorf("WithBaseURL(%q) accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "SEC") || strings.Contains(err.Error(), "RET") {
			t.Errorf("WithBaseURL(%q): error %q carries the credential", raw, err)
		}
	}
}

func TestLargestBodyLimitReadsChunkedAnswers(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, createdJSON[:10])
		http.NewResponseController(w).Flush() // no Content-Length: chunked
		io.WriteString(w, createdJSON[10:])
	})
	c, err := leadway.New(testToken, leadway.WithBaseURL(srv), leadway.WithoutRateLimiter(), leadway.WithMaxResponseBytes(math.MaxInt64))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Upsert(context.Background(), minimal())
	if err != nil || !res.New || res.ID() != "opp-1" {
		t.Fatalf("Upsert = %+v, %v; want the created opportunity", res, err)
	}
}

// slotLimiter is a Limiter whose next slot is always wait away: it
// returns at once when ctx's deadline comes first, as the contract asks.
type slotLimiter struct {
	wait     time.Duration
	waits    atomic.Int32
	mu       sync.Mutex
	observed []leadway.RateLimit
}

func (l *slotLimiter) Wait(ctx context.Context, key string) error {
	if l.waits.Add(1) == 1 {
		return nil // the first attempt goes out at once
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < l.wait {
		return fmt.Errorf("next slot in %s: %w", l.wait, &leadway.RateLimitError{RetryAfter: l.wait})
	}
	select {
	case <-time.After(l.wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *slotLimiter) Observe(key string, rl leadway.RateLimit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observed = append(l.observed, rl)
}

func TestLimiterWaitBeforeARetryIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := &slotLimiter{wait: 3 * time.Second}
		limited := withHeaders(rate429("0", "150000"), "X-RateLimit-Max", "1", "X-RateLimit-Interval-Milliseconds", "3000", "Retry-After-Ms", "10")
		w := newWorld(t, script(limited, ok200), leadway.WithRateLimiter(lim), leadway.WithMaxRetryWait(50*time.Millisecond))
		start := time.Now()
		_, err := w.upsert(context.Background(), minimal())
		var rlErr *leadway.RateLimitError
		if !errors.As(err, &rlErr) || rlErr.RetryAfter != 3*time.Second {
			t.Fatalf("err = %v, want *RateLimitError with RetryAfter 3s", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v matches DeadlineExceeded, but the caller's context is live", err)
		}
		var apiErr *leadway.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
			t.Errorf("err = %v, want the last answer, a 429, inside", err)
		}
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Errorf("took %s, want at most the 50ms cap", took)
		}
		w.wantHits(1)
	})
}

func TestOutOfRangeRetryAfterMeansTheLongestWait(t *testing.T) {
	for _, tc := range []struct{ name, header, value, daily string }{
		{"Retry-After 1e400 on a daily 429", "Retry-After", "1e400", "0"},
		{"Retry-After-Ms +Inf", "Retry-After-Ms", "+Inf", "100"},
		{"Retry-After +Inf", "Retry-After", "+Inf", "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, withHeaders(rate429("0", tc.daily), tc.header, tc.value), leadway.WithMaxRetries(0))
				_, err := w.upsert(context.Background(), minimal())
				var rlErr *leadway.RateLimitError
				if !errors.As(err, &rlErr) || rlErr.RetryAfter != math.MaxInt64 {
					t.Fatalf("err = %v, want *RateLimitError with the longest RetryAfter", err)
				}
			})
		})
	}
	t.Run("capped for a retry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Without a limiter: the default one would hold the retry for the
			// window the 429 announced as spent, which is a separate rule.
			w := newWorld(t, script(withHeaders(rate429("0", "100"), "Retry-After", "1e400"), ok200),
				leadway.WithMaxRetryWait(2*time.Second), leadway.WithoutRateLimiter())
			start := time.Now()
			if _, err := w.upsert(context.Background(), minimal()); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != 2*time.Second {
				t.Errorf("took %s, want the 2s cap", took)
			}
		})
	})
}

func TestRateLimitErrorShowsOnlyWhatIsKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, reply(429, "", ""), leadway.WithMaxRetries(0))
		_, err := w.upsert(context.Background(), minimal())
		var rlErr *leadway.RateLimitError
		if !errors.As(err, &rlErr) {
			t.Fatalf("err = %v, want *RateLimitError", err)
		}
		for _, bad := range []string{"?", "-1", " 0s", "0ns"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("error %q shows a placeholder %q", err, bad)
			}
		}
		if want := "leadway: rate limited"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
	})
}

func TestBodyDroppedInARefusalIsNotAnUnknownOutcome(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   func(error) bool
	}{
		{429, func(err error) bool { var e *leadway.RateLimitError; return errors.As(err, &e) }},
		{503, func(err error) bool { var e *leadway.APIError; return errors.As(err, &e) && e.StatusCode == 503 }},
		{422, func(err error) bool { var e *leadway.APIError; return errors.As(err, &e) && e.StatusCode == 422 }},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, reply(tc.status, "application/json", `{"statusCode":`+fmt.Sprint(tc.status)+`,"message":"no"}`), leadway.WithMaxRetries(0))
				w.fault.resetAfter.Store(5)
				_, err := w.upsert(context.Background(), minimal())
				var unknown *leadway.UnknownOutcomeError
				if errors.As(err, &unknown) || !tc.want(err) {
					t.Fatalf("err = %v, want the typed refusal, not an unknown outcome", err)
				}
			})
		})
	}
}

// closeCounter is a caller's transport that counts CloseIdleConnections.
type closeCounter struct {
	http.RoundTripper
	closed atomic.Int32
}

func (c *closeCounter) CloseIdleConnections() { c.closed.Add(1) }

func TestCloseIdleConnectionsLeavesACallersTransportAlone(t *testing.T) {
	rt := &closeCounter{RoundTripper: http.DefaultTransport}
	c, err := leadway.New(testToken, leadway.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	if n := rt.closed.Load(); n != 0 {
		t.Errorf("the caller's transport was closed %d times", n)
	}
}

func TestAttemptsCountRetriesNotRedirects(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/opportunities/upsert" {
			http.Redirect(w, r, "/v2/opportunities/upsert", http.StatusTemporaryRedirect)
			return
		}
		reply(422, "application/json", `{"message":["bad"]}`)(w, r)
	})
	c, err := leadway.New(testToken, leadway.WithBaseURL(srv), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	var apiErr *leadway.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || apiErr.Attempts != 1 {
		t.Fatalf("err = %v (attempts %d), want a 422 after 1 attempt", err, apiErr.Attempts)
	}
}

// altProtocol stands for a protocol registered with RegisterProtocol, such
// as HTTP/3: it bypasses net/http's connection code, and its trace hooks.
type altProtocol struct{ sent atomic.Int32 }

func (a *altProtocol) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	a.sent.Add(1)
	return nil, &net.OpError{Op: "read", Net: "udp", Err: syscall.ECONNRESET}
}

func TestSentCreateThroughAnUntracedProtocolIsAnUnknownOutcome(t *testing.T) {
	alt := &altProtocol{}
	// No HTTP/2 either: the registered protocol stands alone.
	tr := &http.Transport{TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	tr.RegisterProtocol("https", alt)
	c, err := leadway.New(testToken, leadway.WithHTTPClient(&http.Client{Transport: tr}), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	var unknown *leadway.UnknownOutcomeError
	if !errors.As(err, &unknown) || alt.sent.Load() != 1 {
		t.Fatalf("err = %v after %d sends, want *UnknownOutcomeError after 1", err, alt.sent.Load())
	}
}

func TestBaseURLKeepsAnEscapedPath(t *testing.T) {
	var got atomic.Value
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.EscapedPath())
		ok200(w, r)
	})
	c, err := leadway.New(testToken, leadway.WithBaseURL(srv+"/a%2Fb"), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(context.Background(), minimal()); err != nil {
		t.Fatal(err)
	}
	if want := "/a%2Fb/opportunities/upsert"; got.Load() != want {
		t.Errorf("path = %q, want %q", got.Load(), want)
	}
}

// A body shorter than its announced Content-Length must not cost the
// announced size in memory.
func TestAnnouncedLengthIsNotAllocatedUpFront(t *testing.T) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, ContentLength: 4 << 20, Request: r,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(strings.NewReader(createdJSON))}, nil
	})
	c, err := leadway.New(testToken, leadway.WithHTTPClient(&http.Client{Transport: rt}), leadway.WithoutRateLimiter(), leadway.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = c.Upsert(context.Background(), minimal())
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("one call allocated %d bytes for a %d-byte body", grew, len(createdJSON))
	}
}

func TestNewWorksWithAReplacedDefaultTransport(t *testing.T) {
	var used atomic.Int32
	old := http.DefaultTransport
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return &http.Response{StatusCode: 200, Request: r, ContentLength: int64(len(createdJSON)),
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(strings.NewReader(createdJSON))}, nil
	})
	t.Cleanup(func() { http.DefaultTransport = old })
	c, err := leadway.New(testToken, leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Upsert(context.Background(), minimal()); err != nil || !res.New {
		t.Fatalf("Upsert = %+v, %v", res, err)
	}
	if used.Load() != 1 {
		t.Errorf("the replaced DefaultTransport saw %d requests, want 1", used.Load())
	}
}

func TestAPIErrorBodyRedactsAnEchoedToken(t *testing.T) {
	srv := newServer(t, echoToken(401))
	c, err := leadway.New(testToken, leadway.WithBaseURL(srv), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	var apiErr *leadway.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if bytes.Contains(apiErr.Body, []byte(testToken)) || !bytes.Contains(apiErr.Body, []byte("Bearer REDACTED")) {
		t.Errorf("Body = %s, want the token redacted", apiErr.Body)
	}
}

func TestUnreachableTokenEndpointIsNotAnInvalidToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	conf := oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: "http://" + addr + "/token"}}
	c, err := leadway.NewFromTokenSource(conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "rt"}), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	if errors.Is(err, leadway.ErrInvalidToken) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v; want ECONNREFUSED, not ErrInvalidToken", err)
	}
}

// slowSource is a token endpoint that takes its time.
type slowSource struct{ delay time.Duration }

func (s slowSource) Token() (*oauth2.Token, error) {
	time.Sleep(s.delay)
	return &oauth2.Token{AccessToken: "tok-slow"}, nil
}

func TestContextBoundsATokenFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			return nil, errors.New("unexpected request")
		})
		c, err := leadway.NewFromTokenSource(slowSource{1500 * time.Millisecond},
			leadway.WithHTTPClient(&http.Client{Transport: rt}), leadway.WithoutRateLimiter())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Upsert(ctx, minimal())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want DeadlineExceeded", err)
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("took %s, want the 50ms deadline", took)
		}
		if sent.Load() != 0 {
			t.Errorf("%d requests sent", sent.Load())
		}
		time.Sleep(2 * time.Second) // let the fetch end inside the bubble
	})
}

// countingLimiter lets everything through and counts the calls.
type countingLimiter struct{ waits, observes atomic.Int32 }

func (l *countingLimiter) Wait(context.Context, string) error { l.waits.Add(1); return nil }
func (l *countingLimiter) Observe(string, leadway.RateLimit)  { l.observes.Add(1) }

func TestFakeClientIsNotPacedByDefault(t *testing.T) {
	// One request a minute: a client limiter that adapts to the fake's
	// figures would hold the second call, which the deadline forbids.
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(1, time.Minute))
	defer srv.Close()
	c, err := srv.Client(leadway.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = c.Upsert(ctx, minimal())
		cancel()
	}
	var rlErr *leadway.RateLimitError
	var apiErr *leadway.APIError
	if !errors.As(err, &rlErr) || !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("second call: err = %v, want the fake's own 429", err)
	}
	if st := srv.Stats(); st.Requests != 2 || st.RateLimited != 1 {
		t.Errorf("stats = %+v, want 2 requests, 1 rate limited", st)
	}

	lim := &countingLimiter{}
	c, err = srv.Client(leadway.WithRateLimiter(lim))
	if err != nil {
		t.Fatal(err)
	}
	other := minimal()
	other.LocationId = "loc-2"
	if _, err := c.Upsert(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if lim.waits.Load() != 1 || lim.observes.Load() != 1 {
		t.Errorf("limiter asked for saw %d waits and %d observes, want 1 and 1", lim.waits.Load(), lim.observes.Load())
	}
}

func TestFiguresFromAnotherHostAreNotObserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := &slotLimiter{}
		w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
			if r.Host == "api.test" {
				rw.Header().Set("X-RateLimit-Max", "100")
				http.Redirect(rw, r, "http://other.test/opportunities/upsert", http.StatusTemporaryRedirect)
				return
			}
			rw.Header().Set("X-RateLimit-Max", "1")
			rw.Header().Set("X-RateLimit-Interval-Milliseconds", "60000")
			ok200(rw, r)
		}, leadway.WithRateLimiter(lim))
		if _, err := w.upsert(context.Background(), minimal()); err != nil {
			t.Fatal(err)
		}
		lim.mu.Lock()
		defer lim.mu.Unlock()
		if len(lim.observed) != 1 || lim.observed[0].Max != 100 {
			t.Errorf("observed %+v, want only api.test's figures", lim.observed)
		}
	})
}

// stopLimiter refuses at once, as the Limiter contract allows: the day's
// budget is spent, or the next slot lies past the context's deadline.
type stopLimiter struct{ err error }

func (l stopLimiter) Wait(context.Context, string) error { return l.err }
func (l stopLimiter) Observe(string, leadway.RateLimit)  {}

func TestLimiterRefusalBeforeSendingIsPassedOn(t *testing.T) {
	daily := &leadway.RateLimitError{Daily: true, RetryAfter: 5 * time.Hour}
	slot := fmt.Errorf("%w: %w", &leadway.RateLimitError{RetryAfter: 3 * time.Second}, context.DeadlineExceeded)
	for _, tc := range []struct {
		name     string
		err      error
		want     string
		deadline bool
	}{
		{"daily stop", daily, "leadway: rate limited: daily budget used up; try again in 5h0m0s; nothing was sent", false},
		{"slot past the deadline", slot, "leadway: rate limited; try again in 3s; nothing was sent: context deadline exceeded", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, ok200, leadway.WithRateLimiter(stopLimiter{tc.err}))
				_, err := w.upsert(context.Background(), minimal())
				var rlErr *leadway.RateLimitError
				if !errors.As(err, &rlErr) || rlErr.APIError != nil || rlErr.Attempts != 0 || err.Error() != tc.want {
					t.Fatalf("err = %q, want %q with nothing sent", err, tc.want)
				}
				if errors.Is(err, context.DeadlineExceeded) != tc.deadline {
					t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", !tc.deadline, tc.deadline)
				}
				var apiErr *leadway.APIError
				if errors.As(err, &apiErr) {
					t.Errorf("err = %v matches *APIError, but nothing was sent", err)
				}
				w.wantHits(0)
			})
		})
	}
}

func TestTokenFuncGetsTheCallsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		fetch := func(ctx context.Context) (*oauth2.Token, error) {
			if fetches.Add(1) == 1 {
				return &oauth2.Token{AccessToken: "tok-1"}, nil
			}
			select { // a slow secret store
			case <-time.After(time.Hour):
				return &oauth2.Token{AccessToken: "tok-2"}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var seen atomic.Value
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			seen.Store(r.Header.Get("Authorization"))
			return &http.Response{StatusCode: 200, Request: r, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(createdJSON))}, nil
		})
		c, err := leadway.NewFromTokenFunc(fetch, leadway.WithHTTPClient(&http.Client{Transport: rt}), leadway.WithoutRateLimiter())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Upsert(context.Background(), minimal()); err != nil || seen.Load() != "Bearer tok-1" {
			t.Fatalf("Upsert = %v with %q, want success with tok-1", err, seen.Load())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Upsert(ctx, minimal())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 50*time.Millisecond {
			t.Errorf("err = %v after %s, want DeadlineExceeded at 50ms", err, time.Since(start))
		}
		if _, err := leadway.NewFromTokenFunc(nil); !errors.Is(err, leadway.ErrInvalidToken) {
			t.Errorf("nil func: err = %v, want ErrInvalidToken", err)
		}
	})
}

type emptySource struct{}

func (emptySource) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: ""}, nil }

func TestEmptyTokenFromASourceIsRefusedLikeAStaticOne(t *testing.T) {
	var sent atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return nil, errors.New("unexpected request")
	})
	c, err := leadway.NewFromTokenSource(emptySource{}, leadway.WithHTTPClient(&http.Client{Transport: rt}), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	_, staticErr := leadway.New("")
	if !errors.Is(err, leadway.ErrInvalidToken) || !strings.HasPrefix(err.Error(), staticErr.Error()) || sent.Load() != 0 {
		t.Errorf("err = %v after %d requests, want %q and nothing sent", err, sent.Load(), staticErr)
	}
}

// A retry that the limiter cannot fit before the caller's deadline ends
// with the deadline and the last answer, not with a "nothing sent" error.
func TestLimiterRefusalBeforeARetryKeepsTheLastAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := &slotLimiter{wait: 3 * time.Second}
		w := newWorld(t, withHeaders(rate429("0", "150000"), "Retry-After-Ms", "10"), leadway.WithRateLimiter(lim))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := w.upsert(ctx, minimal())
		var rlErr *leadway.RateLimitError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &rlErr) || rlErr.APIError == nil || rlErr.Attempts != 1 {
			t.Fatalf("err = %v, want DeadlineExceeded and the last 429", err)
		}
		if !strings.Contains(err.Error(), "the next slot, in 3s, is past the context deadline") || strings.Contains(err.Error(), "nothing was sent") {
			t.Errorf("err = %q, want the limiter's wait, and no claim that nothing was sent", err)
		}
		w.wantHits(1)
	})
}
