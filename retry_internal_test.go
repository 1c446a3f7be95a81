package leadway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
)

// A request built without GetBody (a later operation, or a caller's own
// request through the transport) is buffered once and replayed whole.
func TestTransportReplaysABodyWithoutGetBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var bodies []string
		base := roundTripper(func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			n := len(bodies)
			mu.Unlock()
			status := http.StatusServiceUnavailable
			if n == 2 {
				status = http.StatusOK
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), ContentLength: 2}, nil
		})
		cfg := defaultConfig()
		cfg.limiter = nil
		tr := testTransport(&cfg, base)
		req, err := http.NewRequest(http.MethodPut, DefaultBaseURL+"/x", io.NopCloser(strings.NewReader(`{"a":1}`)))
		if err != nil {
			t.Fatal(err)
		}
		req.GetBody = nil
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("RoundTrip = %v, %v; want 200 after a retry", resp, err)
		}
		if len(bodies) != 2 || bodies[0] != `{"a":1}` || bodies[1] != `{"a":1}` {
			t.Errorf("bodies sent = %q, want the same body twice", bodies)
		}
	})
}

// A POST that did not come through a Client method is not idempotent, so a
// 500 is not retried and its outcome is unknown; a PUT is retried.
func TestTransportIdempotencyByMethod(t *testing.T) {
	for _, tc := range []struct {
		method  string
		want    int
		unknown bool
	}{{http.MethodPost, 1, true}, {http.MethodPut, 3, false}} {
		synctest.Test(t, func(t *testing.T) {
			n := 0
			base := roundTripper(func(r *http.Request) (*http.Response, error) {
				n++
				return &http.Response{StatusCode: 500, Header: http.Header{}, Body: http.NoBody}, nil
			})
			cfg := defaultConfig()
			tr := testTransport(&cfg, base)
			req, _ := http.NewRequest(tc.method, DefaultBaseURL+"/x", nil)
			_, err := tr.RoundTrip(req)
			var unknown *UnknownOutcomeError
			var apiErr *APIError
			if errors.As(err, &unknown) != tc.unknown || !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
				t.Errorf("%s: err = %v, want a 500 (unknown outcome: %v)", tc.method, err, tc.unknown)
			}
			if n != tc.want {
				t.Errorf("%s: %d attempts, want %d", tc.method, n, tc.want)
			}
		})
	}
}

// testTransport is the client's transport over base, with a static token.
func testTransport(cfg *config, base http.RoundTripper) *transport {
	red := &redactor{}
	creds := &credentials{ts: staticToken("t")}
	creds.useRedactor(red)
	t := cfg.transport(creds, red)
	t.sender.base, t.sender.owned = base, false
	_, t.sender.traceable = base.(*http.Transport)
	return t
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMaySent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{fmt.Errorf("wrapped: %w", &net.OpError{Op: "proxyconnect", Err: syscall.ECONNREFUSED}), false},
		{&net.DNSError{Err: "no such host", Name: "api.test"}, false},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{io.EOF, true},
		{context.DeadlineExceeded, true},
		{errors.New("tls: handshake failure"), true},
	} {
		if got := maySent(tc.err); got != tc.want {
			t.Errorf("maySent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
