package leadway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leadwaycrm/leadway"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzUpsertResponse feeds arbitrary answers through the whole client and
// checks that each ends in a result or in the typed error its status calls
// for, without panics and without the token in the message.
func FuzzUpsertResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(createdJSON), "97", "")
	f.Add(200, "application/json", []byte(`{"new":false,"opportunity":{"id":"x","customFields":[{"id":"f","fieldValue":{"a":[1,2]}}],"contact":{"tags":null}}}`), "", "")
	f.Add(200, "application/json; charset=utf-8", []byte(`{"new":true,"opportunity":{"monetaryValue":"220"}}`), "", "")
	f.Add(200, "application/json", []byte(`{"new":true,"opportunity":{"id":`), "", "")
	f.Add(200, "application/json", []byte(`null`), "", "")
	f.Add(200, "text/html", []byte(`<html></html>`), "", "")
	f.Add(201, "application/vnd.api+json", []byte(`{"new":true,"opportunity":{}}`), "", "")
	f.Add(400, "application/json", []byte(`{"statusCode":400,"message":"Bad Request"}`), "", "")
	f.Add(401, "application/json", []byte(`{"statusCode":401,"message":"Invalid token","error":"Unauthorized"}`), "", "")
	f.Add(422, "application/json", []byte(`{"statusCode":422,"message":["a","b"],"error":"Unprocessable Entity"}`), "", "")
	f.Add(422, "application/json", []byte(`{"message":[1,{"x":2}]}`), "", "")
	f.Add(429, "application/json", []byte(`{}`), "0", "120")
	f.Add(429, "", []byte{}, "-1", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(500, "application/json", []byte(`{"message":"boom"}`), "", "1e400")
	f.Add(502, "text/html", []byte("<h1>502</h1>"), "x", "NaN")
	f.Add(599, "application/json", []byte("\xff\xfe"), "", "")
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte, remaining, retryAfter string) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		c, err := leadway.New(testToken,
			leadway.WithBaseURL("https://api.test"),
			leadway.WithMaxRetries(0),
			leadway.WithoutRateLimiter(),
			leadway.WithMaxResponseBytes(1<<16),
			leadway.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				h := http.Header{}
				h.Set("Content-Type", contentType)
				h.Set("X-RateLimit-Remaining", remaining)
				h.Set("X-RateLimit-Daily-Remaining", remaining)
				h.Set("Retry-After", retryAfter)
				return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1, Request: r}, nil
			})}))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Upsert(context.Background(), minimal())
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Fatalf("error carries the token: %v", err)
		}
		ok := status >= 200 && status <= 299
		var apiErr *leadway.APIError
		var respErr *leadway.ResponseError
		switch {
		case err == nil:
			if !ok || res == nil {
				t.Fatalf("status %d gave result %+v and no error", status, res)
			}
		case ok:
			if !errors.As(err, &respErr) || respErr.StatusCode != status {
				t.Fatalf("status %d: err = %v (%T), want *ResponseError", status, err, err)
			}
		default:
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status || !bytes.Equal(apiErr.Body, body) {
				t.Fatalf("status %d: err = %v (%T), want *APIError with the body", status, err, err)
			}
			var rl *leadway.RateLimitError
			if (status == 429) != errors.As(err, &rl) {
				t.Fatalf("status %d: err = %v; *RateLimitError exactly for 429", status, err)
			}
			if rl != nil && rl.RetryAfter < 0 {
				t.Fatalf("negative RetryAfter %s", rl.RetryAfter)
			}
		}
	})
}
