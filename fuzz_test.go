package leadway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzUpsertResponse feeds arbitrary answers through the whole client, with
// retries and the rate limiter on, in virtual time: the first attempt gets
// status, every later one status2. Each call must end in a result or in the
// typed error its last status calls for, without panics, without the token
// (which every answer echoes) in what it shows, without a second create
// after anything but 429 or 503, and within the waits it may take.
func FuzzUpsertResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(createdJSON), "97", "", 200, false)
	f.Add(200, "application/json", []byte(`{"new":false,"opportunity":{"id":"x","customFields":[{"id":"f","fieldValue":{"a":[1,2]}}],"contact":{"tags":null}}}`), "", "", 200, true)
	f.Add(200, "application/json; charset=utf-8", []byte(`{"new":true,"opportunity":{"monetaryValue":"220"}}`), "", "", 200, false)
	f.Add(200, "application/json", []byte(`{"new":true,"opportunity":{"id":`), "", "", 200, false)
	f.Add(200, "application/json", []byte(`null`), "", "", 200, false)
	f.Add(200, "text/html", []byte(`<html></html>`), "", "", 200, false)
	f.Add(201, "application/vnd.api+json", []byte(`{"new":true,"opportunity":{}}`), "", "", 200, false)
	f.Add(400, "application/json", []byte(`{"statusCode":400,"message":"Bad Request"}`), "", "", 200, false)
	f.Add(401, "application/json", []byte(`{"statusCode":401,"message":"Invalid token: Bearer `+testToken+`","error":"Unauthorized"}`), "", "", 200, false)
	f.Add(422, "application/json", []byte(`{"statusCode":422,"message":["a","b"],"error":"Unprocessable Entity"}`), "", "", 200, false)
	f.Add(422, "application/json", []byte(`{"message":[1,{"x":2}]}`), "", "", 200, false)
	f.Add(429, "application/json", []byte(`{}`), "0", "120", 200, false)
	f.Add(429, "application/json", []byte(`{}`), "0", "1e400", 429, false)
	f.Add(429, "", []byte{}, "-1", "Wed, 21 Oct 2015 07:28:00 GMT", 503, true)
	f.Add(500, "application/json", []byte(`{"message":"boom"}`), "", "1e400", 200, true)
	f.Add(502, "text/html", []byte("<h1>502</h1>"), "x", "NaN", 200, false)
	f.Add(503, "text/plain", []byte("busy"), "", "2", 502, false)
	f.Add(504, "text/plain", []byte("timeout"), "", "", 200, true)
	f.Add(599, "application/json", []byte("\xff\xfe"), "", "", 200, false)
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte, remaining, retryAfter string, status2 int, withID bool) {
		status, status2 = 200+(status%400+400)%400, 200+(status2%400+400)%400
		const maxRetries, maxWait = 2, 5 * time.Second
		synctest.Test(t, func(t *testing.T) {
			var sent atomic.Int32
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				io.Copy(io.Discard, r.Body)
				st := status
				if sent.Add(1) > 1 {
					st = status2
				}
				h := http.Header{}
				h.Set("Content-Type", contentType)
				h.Set("X-RateLimit-Remaining", remaining)
				h.Set("X-RateLimit-Daily-Remaining", remaining)
				h.Set("Retry-After", retryAfter)
				h.Set("X-Debug-Request-Authorization", r.Header.Get("Authorization"))
				return &http.Response{StatusCode: st, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1, Request: r}, nil
			})
			c, err := leadway.New(testToken,
				leadway.WithBaseURL("https://api.test"),
				leadway.WithMaxRetries(maxRetries),
				leadway.WithMaxRetryWait(maxWait),
				leadway.WithRateLimiter(leadway.NewLimiter(2, time.Second)),
				leadway.WithMaxResponseBytes(1<<16),
				leadway.WithHTTPClient(&http.Client{Transport: rt}))
			if err != nil {
				t.Fatal(err)
			}
			req := minimal()
			if withID {
				req.Id = leadway.Ptr("opp-1")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			start := time.Now()
			res, err := c.Upsert(ctx, req)
			took := time.Since(start)

			n := int(sent.Load())
			if n < 1 || n > 1+maxRetries {
				t.Fatalf("%d requests, want 1 to %d", n, 1+maxRetries)
			}
			// A retry waits at most the cap in the limiter and the cap asleep.
			if most := time.Duration(n-1) * 2 * maxWait; took > most {
				t.Fatalf("took %s for %d requests, want at most %s", took, n, most)
			}
			if !withID && n > 1 && status != 429 && status != 503 {
				t.Fatalf("a create was sent %d times after a %d", n, status)
			}
			last := status
			if n > 1 {
				last = status2
			}
			checkOutcome(t, last, withID, res, err)
		})
	})
}

// checkOutcome checks that a call whose last answer had status ended as it
// should, and shows no token.
func checkOutcome(t *testing.T, status int, withID bool, res *leadway.UpsertResult, err error) {
	t.Helper()
	if err != nil {
		shown := err.Error() + fmt.Sprintf("%+v", err)
		var apiErr *leadway.APIError
		if errors.As(err, &apiErr) {
			shown += string(apiErr.Body) + strings.Join(apiErr.Messages, "") + fmt.Sprint(apiErr.Header)
		}
		if strings.Contains(shown, testToken) {
			t.Fatalf("error shows the token: %s", shown)
		}
	}
	var (
		apiErr  *leadway.APIError
		respErr *leadway.ResponseError
		rl      *leadway.RateLimitError
		unknown *leadway.UnknownOutcomeError
	)
	switch {
	case err == nil:
		if status < 200 || status > 299 || res == nil {
			t.Fatalf("status %d gave result %+v and no error", status, res)
		}
	case status >= 200 && status <= 299:
		if !errors.As(err, &respErr) || respErr.StatusCode != status {
			t.Fatalf("status %d: err = %v (%T), want *ResponseError", status, err, err)
		}
	default:
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
			t.Fatalf("status %d: err = %v (%T), want *APIError", status, err, err)
		}
		if (status == 429) != errors.As(err, &rl) {
			t.Fatalf("status %d: err = %v; *RateLimitError exactly for 429", status, err)
		}
		if rl != nil && rl.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %s", rl.RetryAfter)
		}
		mayBeApplied := status >= 500 && status != 503 && !withID
		if mayBeApplied != errors.As(err, &unknown) {
			t.Fatalf("status %d (id %v): err = %v; *UnknownOutcomeError exactly for a create's 5xx other than 503", status, withID, err)
		}
	}
}
