package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/oauth"
)

// syncBuffer is a log destination safe for concurrent writes.
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

// secretsOf collects every secret that went over the wire to the fake:
// the client secret, codes, refresh tokens and bearer tokens.
func secretsOf(srv *leadwaytest.Server) []string {
	set := map[string]bool{testSecret: true}
	for _, r := range srv.Requests() {
		if _, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
			set[tok] = true
		}
		form, _ := url.ParseQuery(string(r.Body))
		for _, k := range []string{"client_secret", "code", "refresh_token"} {
			if v := form.Get(k); v != "" {
				set[v] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	return out
}

// Through a whole life (an agency install, mints, refreshes, an install
// revoked by a refresh token spent elsewhere, a failing call), no token,
// code or client secret shows in any error or log line, body logging
// included.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := oauth.NewMemoryStore()
	srv, mgr := startFake(t, store, []leadwaytest.Option{leadwaytest.WithTokenLifetime(time.Hour)}, oauth.WithLogger(logger))
	ctx := context.Background()
	var errs []string
	keep := func(err error) {
		if err != nil {
			errs = append(errs, fmt.Sprintf("%v | %+v | %#v", err, err, err))
			for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
				errs = append(errs, u.Error())
			}
		}
	}
	code := srv.AuthorizationCode(leadwaytest.Install{UserType: "Company", CompanyID: "co-1", ApprovedLocations: []string{"l1", "l2"}})
	_, err := mgr.Exchange(ctx, code)
	keep(err)
	_, err = mgr.Exchange(ctx, code) // used twice: revokes the install
	keep(err)
	in := install(t, srv, mgr, leadwaytest.Install{LocationID: "l9"})
	install(t, srv, mgr, leadwaytest.Install{UserType: "Company", CompanyID: "co-2", ApprovedLocations: []string{"l1", "l2"}})
	c, err := leadway.NewFromLocationTokens(mgr, leadway.WithBaseURL(srv.URL), leadway.WithoutRateLimiter(),
		leadway.WithLogger(logger), leadway.WithBodyLogging())
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"l1", "l2", "l9", "nowhere"} {
		_, err := c.Upsert(ctx, leadway.UpsertRequest{PipelineId: "p", LocationId: loc})
		keep(err)
	}
	// Spend l9's refresh token elsewhere, then make it due.
	thief := oauth.NewMemoryStore()
	_ = thief.Put(ctx, in.Key(), in)
	other, _ := oauth.NewManager(&oauth.Config{ClientID: testClientID, ClientSecret: testSecret, BaseURL: srv.URL}, thief)
	expire(t, thief, in.Key())
	_, err = other.LocationToken(ctx, "l9")
	keep(err)
	expire(t, store, in.Key())
	tok, _ := mgr.LocationToken(ctx, "l9")
	mgr.InvalidateLocationToken("l9", tok)
	_, err = c.Upsert(ctx, leadway.UpsertRequest{PipelineId: "p", LocationId: "l9"})
	if !errors.Is(err, oauth.ErrReauthorize) || !strings.Contains(err.Error(), "location l9") {
		t.Errorf("the call after the revocation: %v", err)
	}
	keep(err)
	for _, inst := range []string{in.Key(), "company:co-2", "minted:l1"} {
		if got, err := store.Get(ctx, inst); err == nil {
			errs = append(errs, got.String())
		}
	}
	text := strings.Join(errs, "\n") + logs.String()
	secrets := secretsOf(srv)
	if len(secrets) < 8 || !strings.Contains(logs.String(), "REDACTED") || len(errs) < 5 {
		t.Fatalf("the test saw too little: %d secrets, %d errors, logs:\n%s", len(secrets), len(errs), logs.String())
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a secret shows: %q in\n%s", s, text)
		}
	}
}
