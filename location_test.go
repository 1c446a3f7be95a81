package leadway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/leadwaycrm/leadway"
	"golang.org/x/oauth2"
)

// mapSource hands out a token per location and records the refusals it
// hears of; it reports its secrets when asked.
type mapSource struct {
	mu       sync.Mutex
	tokens   map[string]string
	next     map[string]string // what a location's token becomes once refused
	refused  []string
	asked    int
	secrets  []string
	cached   map[string]*oauth2.Token
	failWith error
}

func (s *mapSource) LocationToken(_ context.Context, loc string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if s.failWith != nil {
		return nil, s.failWith
	}
	if t := s.cached[loc]; t != nil && t.AccessToken == s.tokens[loc] {
		return t, nil
	}
	t := &oauth2.Token{AccessToken: s.tokens[loc]}
	s.cached[loc] = t
	return t, nil
}

func (s *mapSource) ReportSecrets(report func(string)) {
	for _, sec := range s.secrets {
		report(sec)
	}
}

// invalidating is a mapSource that can be told of refusals.
type invalidating struct{ *mapSource }

func (s invalidating) InvalidateLocationToken(loc string, t *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused = append(s.refused, loc+"="+t.AccessToken)
	if n, ok := s.next[loc]; ok {
		s.tokens[loc] = n
	}
}

func newMapSource(tokens map[string]string) *mapSource {
	return &mapSource{tokens: tokens, next: map[string]string{}, cached: map[string]*oauth2.Token{}}
}

// serveLocations starts a server that accepts, per location, one token.
func serveLocations(t *testing.T, accept map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for loc, tok := range accept {
			if bytes.Contains(body, []byte(`"locationId":"`+loc+`"`)) && r.Header.Get("Authorization") == "Bearer "+tok {
				reply(200, "application/json", createdJSON)(w, r)
				return
			}
		}
		reply(401, "application/json", `{"statusCode":401,"message":"Invalid token","error":"Unauthorized"}`)(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Each call carries the token of its own location.
func TestLocationTokensPickTheCallsLocation(t *testing.T) {
	srv := serveLocations(t, map[string]string{"loc-a": "tok-a", "loc-b": "tok-b"})
	src := newMapSource(map[string]string{"loc-a": "tok-a", "loc-b": "tok-b"})
	c, err := leadway.NewFromLocationTokens(src, leadway.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"loc-a", "loc-b", "loc-a"} {
		req := minimal()
		req.LocationId = loc
		if _, err := c.Upsert(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
	}
	if src.asked != 3 {
		t.Errorf("the source was asked %d times, want once per call", src.asked)
	}
	if _, err := leadway.NewFromLocationTokens(nil); !errors.Is(err, leadway.ErrInvalidToken) {
		t.Errorf("nil source: %v", err)
	}
}

// After a 401 the client tells the source which token was refused, asks
// again and retries once with the new token.
func TestLocationTokenRefusedIsReplacedOnce(t *testing.T) {
	srv := serveLocations(t, map[string]string{"loc-a": "tok-new"})
	src := newMapSource(map[string]string{"loc-a": "tok-old"})
	src.next["loc-a"] = "tok-new"
	c, err := leadway.NewFromLocationTokens(invalidating{src}, leadway.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	req := minimal()
	req.LocationId = "loc-a"
	if _, err := c.Upsert(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if len(src.refused) != 1 || src.refused[0] != "loc-a=tok-old" {
		t.Errorf("refusals heard: %v", src.refused)
	}
	// A source that cannot be told hands out the same token: no retry.
	plain := newMapSource(map[string]string{"loc-a": "tok-old"})
	c, _ = leadway.NewFromLocationTokens(plain, leadway.WithBaseURL(srv.URL))
	_, err = c.Upsert(context.Background(), req)
	var apiErr *leadway.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Attempts != 1 {
		t.Errorf("err = %v", err)
	}
}

// A failing source fails the call in its own words, and secrets it
// reports are hidden from logged bodies and errors.
func TestLocationSourceErrorsAndSecrets(t *testing.T) {
	echo := httptest.NewServer(reply(400, "application/json", `{"statusCode":400,"message":"bad refresh rt-secret-9 for client cs-secret-9"}`))
	defer echo.Close()
	src := newMapSource(map[string]string{"loc-a": "tok-a"})
	src.secrets = []string{"cs-secret-9", "rt-secret-9"}
	var logs bytes.Buffer
	c, err := leadway.NewFromLocationTokens(src, leadway.WithBaseURL(echo.URL), leadway.WithBodyLogging(),
		leadway.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	req := minimal()
	req.LocationId = "loc-a"
	_, err = c.Upsert(context.Background(), req)
	var apiErr *leadway.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	all := err.Error() + string(apiErr.Body) + strings.Join(apiErr.Messages, " ") + logs.String()
	for _, s := range []string{"cs-secret-9", "rt-secret-9", "tok-a"} {
		if strings.Contains(all, s) {
			t.Errorf("%q shows: %s", s, all)
		}
	}
	src.failWith = errors.New("oauth: location loc-a must be authorized again")
	_, err = c.Upsert(context.Background(), req)
	if err == nil || err.Error() != "leadway: token source: oauth: location loc-a must be authorized again" {
		t.Errorf("err = %v", err)
	}
}

// With more locations than the redactor keeps tokens, a call's answer is
// still redacted of the token that call sent: in its error and its logged
// body.
func TestEveryLocationsTokenIsRedactedFromItsAnswer(t *testing.T) {
	tokens := map[string]string{}
	for i := range 40 {
		tokens[fmt.Sprintf("loc-%02d", i)] = fmt.Sprintf("tok-%02d-secret", i)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if bytes.Contains(mustRead(r), []byte(`"name":"echo"`)) {
			reply(400, "application/json", `{"statusCode":400,"message":"bad token `+tok+`"}`)(w, r)
			return
		}
		reply(200, "application/json", createdJSON)(w, r)
	}))
	defer echo.Close()
	var logs bytes.Buffer
	c, err := leadway.NewFromLocationTokens(newMapSource(tokens), leadway.WithBaseURL(echo.URL), leadway.WithBodyLogging(),
		leadway.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	req := minimal()
	for i := range 40 { // each location once: loc-00's token is the oldest
		req.LocationId = fmt.Sprintf("loc-%02d", i)
		if _, err := c.Upsert(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	req.LocationId, req.Name = "loc-00", leadway.Ptr("echo")
	_, err = c.Upsert(context.Background(), req)
	var apiErr *leadway.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	if all := err.Error() + string(apiErr.Body) + logs.String(); strings.Contains(all, "tok-00-secret") {
		t.Errorf("loc-00's token shows:\n%s", all)
	}
}

func mustRead(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}
