package leadway_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway"
	"golang.org/x/oauth2"
)

// http.Client.Timeout would replace the transport's typed errors with its
// own; the client turns it into a context deadline instead.
func TestHTTPClientTimeoutKeepsTypedErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Minute):
			case <-r.Context().Done():
			}
		})
		c, err := leadway.New(testToken, leadway.WithBaseURL("http://api.test"), leadway.WithInsecureHTTP(),
			leadway.WithHTTPClient(&http.Client{Transport: w.fault, Timeout: 5 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Upsert(context.Background(), minimal())
		var unknown *leadway.UnknownOutcomeError
		if !errors.As(recordErr(err), &unknown) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want *UnknownOutcomeError and DeadlineExceeded", err)
		}
		w.wantHits(1)
	})
}

// A dial that never completes is cut by the attempt timeout; nothing was
// sent, so even a create is retried.
func TestStalledDialIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ok200)
		var dials atomic.Int32
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 {
				<-ctx.Done() // a black-holed SYN
				return nil, ctx.Err()
			}
			return w.net.dial(ctx, network, addr)
		}}
		defer tr.CloseIdleConnections()
		c, err := leadway.New(testToken, leadway.WithBaseURL("http://api.test"), leadway.WithInsecureHTTP(),
			leadway.WithHTTPClient(&http.Client{Transport: tr}), leadway.WithAttemptTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Upsert(context.Background(), minimal())
		if recordErr(err) != nil || !res.New {
			t.Fatalf("Upsert = %+v, %v; want success after a second dial", res, err)
		}
		if dials.Load() != 2 {
			t.Errorf("dialled %d times, want 2", dials.Load())
		}
		w.wantHits(1)
	})
}

// A context that ends while the limiter holds the retry still reports the
// attempt before it.
func TestLimiterWaitBeforeRetryKeepsTheLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		busy := withHeaders(reply(503, "text/plain", "busy"), "Retry-After", "0")
		w := newWorld(t, busy, leadway.WithRateLimiter(leadway.NewLimiter(1, time.Second)))
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := w.upsert(ctx, minimal())
		var apiErr *leadway.APIError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Fatalf("err = %v, want DeadlineExceeded and the last *APIError 503", err)
		}
		w.wantHits(1)
	})
}

type nilTokenSource struct{}

func (nilTokenSource) Token() (*oauth2.Token, error) { return nil, nil }

// Broken transports and token sources are errors, never panics.
func TestBrokenCollaboratorsDoNotPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		rt   roundTripFunc
	}{
		{"nil response and nil error", func(*http.Request) (*http.Response, error) { return nil, nil }},
		{"nil body and header", func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 204, Request: r}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := leadway.New(testToken, leadway.WithHTTPClient(&http.Client{Transport: tc.rt}), leadway.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Upsert(context.Background(), minimal()); err == nil {
				t.Error("Upsert succeeded")
			}
		})
	}
	c, err := leadway.NewFromTokenSource(nilTokenSource{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(context.Background(), minimal()); !errors.Is(err, leadway.ErrInvalidToken) {
		t.Errorf("err = %v, want ErrInvalidToken", err)
	}
}

// The token stays out of error strings, even when a server echoes it or a
// token endpoint's answer carries secrets.
func TestErrorsRedactSecrets(t *testing.T) {
	c, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request) {
		reply(400, "application/json", `{"statusCode":400,"message":"bad header: `+r.Header.Get("Authorization")+`\nX-Injected: yes"}`)(w, r)
	})
	_, err := c.Upsert(context.Background(), minimal())
	var apiErr *leadway.APIError
	if !errors.As(err, &apiErr) || strings.Contains(err.Error(), testToken) || strings.Contains(apiErr.Messages[0], testToken) {
		t.Errorf("err = %q, want the echoed token redacted", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q, want one line", err)
	}

	endpoint := oauth2.Config{Endpoint: oauth2.Endpoint{
		TokenURL: tokenEndpoint(t, `{"error":"invalid_grant","refresh_token":"rt-LEAKED"}`),
	}}
	c2, err := leadway.NewFromTokenSource(endpoint.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "rt-SECRET"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Upsert(context.Background(), minimal())
	var re *oauth2.RetrieveError
	if !errors.Is(err, leadway.ErrInvalidToken) || !errors.As(err, &re) {
		t.Fatalf("err = %v, want ErrInvalidToken wrapping the *oauth2.RetrieveError", err)
	}
	if msg := err.Error(); strings.Contains(msg, "rt-") || !strings.Contains(msg, "400 (invalid_grant)") {
		t.Errorf("err = %q, want the status and error code only", msg)
	}

	_, err = leadway.New(testToken, leadway.WithBaseURL("https://user:hunter2@crm.example.com"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want a refusal without the password", err)
	}
}

// tokenEndpoint is an OAuth token endpoint that refuses with body.
func tokenEndpoint(t *testing.T, body string) string {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		reply(400, "application/json", body)(w, r)
	})
	return srv + "/token"
}
