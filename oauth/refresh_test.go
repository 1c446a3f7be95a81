package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
)

// The refresh comes a share of the lifetime before expiry (a fifth of
// 100s: 20s), not before, and not on the first call after expiry.
func TestRefreshAheadOfExpiryByTheMargin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now(), 100*time.Second)
		mgr := scripted(t, s, store)
		ctx := context.Background()
		time.Sleep(79 * time.Second)
		if tok, err := mgr.LocationToken(ctx, "loc-1"); err != nil || tok.AccessToken != "at-0" || s.n.Load() != 0 {
			t.Fatalf("at 79s: %v, %v, %d refreshes", tok, err, s.n.Load())
		}
		time.Sleep(2 * time.Second)
		tok, err := mgr.LocationToken(ctx, "loc-1")
		if err != nil || tok.AccessToken != "at-1" || s.n.Load() != 1 {
			t.Fatalf("at 81s: %v, %v, %d refreshes", tok, err, s.n.Load())
		}
		if want := time.Now().Add(100 * time.Second); !tok.Expiry.Equal(want) {
			t.Errorf("expiry %v, want %v", tok.Expiry, want)
		}
		f := s.forms[0]
		if f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "rt-0" || f.Get("user_type") != "Location" ||
			f.Get("client_id") != testClientID || f.Get("client_secret") != testSecret || len(f) != 5 {
			t.Errorf("refresh form = %v", f)
		}
	})
}

// A one-day token is refreshed five minutes ahead: the cap, not a fifth.
func TestRefreshMarginIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 86399) }}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now(), 86399*time.Second)
		mgr := scripted(t, s, store)
		time.Sleep(86399*time.Second - 5*time.Minute - time.Second)
		tok, _ := mgr.LocationToken(context.Background(), "loc-1")
		time.Sleep(2 * time.Second)
		tok2, _ := mgr.LocationToken(context.Background(), "loc-1")
		if tok.AccessToken != "at-0" || tok2.AccessToken != "at-1" {
			t.Errorf("tokens %s then %s, want at-0 then at-1", tok.AccessToken, tok2.AccessToken)
		}
	})
}

// An endpoint that answers 503, then drops the connection, is retried with
// backoff until it answers; nothing matches ErrReauthorize.
func TestOutageIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) {
			if n <= 3 {
				return 503, `{"statusCode":503,"message":"Service Unavailable"}`
			}
			return 200, pair(n, "loc-1", 100)
		}}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		mgr := scripted(t, s, store)
		start := time.Now()
		tok, err := mgr.LocationToken(context.Background(), "loc-1")
		if err != nil || tok.AccessToken != "at-4" {
			t.Fatalf("LocationToken = %v, %v", tok, err)
		}
		// Backoff: 100-200ms, 200-400ms, 400-800ms.
		if d := time.Since(start); d < 700*time.Millisecond || d > 1400*time.Millisecond {
			t.Errorf("took %s of backoff", d)
		}
	})
}

// An outage that outlasts the refresh timeout is a temporary TokenError,
// not ErrReauthorize, and the install keeps its refresh token.
func TestLongOutageIsNotAReauthorize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(int, *http.Request) (int, string) {
			return 500, `{"error":"server_error","error_description":"rt-0 could not be read"}`
		}}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		mgr := scripted(t, s, store, oauth.WithRefreshTimeout(10*time.Second))
		_, err := mgr.LocationToken(context.Background(), "loc-1")
		var te *oauth.TokenError
		if !errors.As(err, &te) || !te.Temporary || te.StatusCode != 500 || errors.Is(err, oauth.ErrReauthorize) || te.Attempts < 3 {
			t.Fatalf("err = %#v", err)
		}
		want := fmt.Sprintf("oauth: refresh for location loc-1: endpoint unavailable: 500 Internal Server Error (server_error) after %d attempts", te.Attempts)
		if err.Error() != want {
			t.Errorf("message:\n %s\nwant\n %s", err, want)
		}
		var re interface{ Error() string } = errors.Unwrap(err)
		noSecret(t, "the unwrapped error", re.Error(), "rt-0", testSecret)
		in, _ := store.Get(context.Background(), "location:loc-1")
		if in.RefreshToken != "rt-0" {
			t.Errorf("stored refresh token %q", in.RefreshToken)
		}
	})
}

// While another process holds the lock, a caller whose token still works
// goes on with it at once; one whose token expired waits for the lease to
// run out, then refreshes.
func TestLockHeldByAnotherProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now(), 100*time.Second)
		mgr := scripted(t, s, store, oauth.WithLockLease(10*time.Second))
		time.Sleep(90 * time.Second) // inside the margin, still valid
		if _, err := store.Lock(context.Background(), "location:loc-1", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tok, err := mgr.LocationToken(context.Background(), "loc-1")
		if err != nil || tok.AccessToken != "at-0" || time.Since(start) != 0 {
			t.Fatalf("inside the margin: %v, %v after %s", tok, err, time.Since(start))
		}
		// The token expires at 100s; the holder died at 99s holding a
		// fresh lock, whose lease runs out at 109s.
		time.Sleep(9 * time.Second)
		if _, err := store.Lock(context.Background(), "location:loc-1", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		start = time.Now()
		tok, err = mgr.LocationToken(context.Background(), "loc-1")
		if err != nil || tok.AccessToken != "at-1" || s.n.Load() != 1 {
			t.Fatalf("after expiry: %v, %v", tok, err)
		}
		if waited := time.Since(start); waited < 9*time.Second || waited > 10*time.Second {
			t.Errorf("waited %s for the lease, want about 9s", waited)
		}
	})
}

// A process that waits for another's refresh picks up the pair it saved,
// and redeems nothing itself.
func TestWaiterPicksUpAnotherProcessesRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		mgr := scripted(t, s, store)
		lease, err := store.Lock(context.Background(), "location:loc-1", 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(time.Second)
			seed(t, store, "loc-1", time.Now(), 100*time.Second) // the other process's new pair
			_ = lease.Release(context.Background())
		}()
		tok, err := mgr.LocationToken(context.Background(), "loc-1")
		if err != nil || tok.AccessToken != "at-0" || !tok.Expiry.After(time.Now()) || s.n.Load() != 0 {
			t.Fatalf("LocationToken = %v, %v; %d redemptions", tok, err, s.n.Load())
		}
	})
}

// Without the store (lock or read failing), nothing is redeemed and the
// error says so.
func TestStoreDownRedeemsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := &countingStore{Store: oauth.NewMemoryStore()}
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		mgr := scripted(t, s, store)
		store.failAll.Store(true)
		_, err := mgr.LocationToken(context.Background(), "loc-1")
		var se *oauth.StoreError
		if !errors.As(err, &se) || !errors.Is(err, errStoreDown) || s.n.Load() != 0 {
			t.Fatalf("err = %v, %d redemptions", err, s.n.Load())
		}
		store.failAll.Store(false)
		if tok, err := mgr.LocationToken(context.Background(), "loc-1"); err != nil || tok.AccessToken != "at-1" {
			t.Errorf("once the store is back: %v, %v", tok, err)
		}
	})
}

// A store that refuses the save: the process keeps the new pair and uses
// it, and holds the lock until the pair is saved, so that another process
// cannot redeem the refresh token it replaced meanwhile.
func TestSaveFailureKeepsThePairAndTheLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := &countingStore{Store: oauth.NewMemoryStore()}
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		a, b := scripted(t, s, store), scripted(t, s, store)
		store.failPut.Store(true)
		tok, err := a.LocationToken(context.Background(), "loc-1")
		if err != nil || tok.AccessToken != "at-1" {
			t.Fatalf("LocationToken = %v, %v", tok, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := b.LocationToken(ctx, "loc-1"); err == nil || s.n.Load() != 1 {
			t.Fatalf("the other process: %v, after %d redemptions; want it to wait, redeeming nothing", err, s.n.Load())
		}
		store.failPut.Store(false)
		time.Sleep(11 * time.Second) // the next save, a third of the lease later
		in, _ := store.Store.Get(context.Background(), "location:loc-1")
		if in.RefreshToken != "rt-1" {
			t.Fatalf("the store holds %q, want the new rt-1", in.RefreshToken)
		}
		if tok, err := b.LocationToken(context.Background(), "loc-1"); err != nil || tok.AccessToken != "at-1" || s.n.Load() != 1 {
			t.Errorf("the other process after the save: %v, %v; %d redemptions", tok, err, s.n.Load())
		}
	})
}

// A token the API refused is refreshed at once, but not again within a
// quarter of its lifetime.
func TestRefusedTokenForcesOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now(), 100*time.Second)
		mgr := scripted(t, s, store)
		ctx := context.Background()
		tok, _ := mgr.LocationToken(ctx, "loc-1")
		mgr.InvalidateLocationToken("loc-1", tok)
		tok, err := mgr.LocationToken(ctx, "loc-1")
		if err != nil || tok.AccessToken != "at-1" {
			t.Fatalf("after the refusal: %v, %v", tok, err)
		}
		mgr.InvalidateLocationToken("loc-1", tok)
		if again, _ := mgr.LocationToken(ctx, "loc-1"); again.AccessToken != "at-1" || s.n.Load() != 1 {
			t.Errorf("a second refusal at once: %s, %d refreshes", again.AccessToken, s.n.Load())
		}
		time.Sleep(26 * time.Second)
		mgr.InvalidateLocationToken("loc-1", tok)
		if again, _ := mgr.LocationToken(ctx, "loc-1"); again.AccessToken != "at-2" {
			t.Errorf("a refusal later: %s", again.AccessToken)
		}
	})
}

// What the endpoint answers is checked before anything is saved: a bad
// answer fails the refresh with what was wrong, and leaves the store as it
// was.
func TestTokenAnswersAreChecked(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"no refresh_token", `{"access_token":"a","expires_in":10,"locationId":"loc-1"}`, "no refresh_token"},
		{"expires_in 0", `{"access_token":"a","refresh_token":"r","expires_in":0,"locationId":"loc-1"}`, "expires_in is 0: it must be positive"},
		{"expires_in negative", `{"access_token":"a","refresh_token":"r","expires_in":-5,"locationId":"loc-1"}`, "must be positive"},
		{"expires_in text", `{"access_token":"a","refresh_token":"r","expires_in":"soon","locationId":"loc-1"}`, "expires_in is not a number"},
		{"no expires_in", `{"access_token":"a","refresh_token":"r","locationId":"loc-1"}`, "no expires_in"},
		{"no access_token", `{"refresh_token":"r","expires_in":10}`, "no access_token"},
		{"token with a line break", `{"access_token":"a\nb","refresh_token":"r","expires_in":10}`, "white space or a control character"},
		{"mac token", `{"access_token":"a","token_type":"mac","refresh_token":"r","expires_in":10}`, "not Bearer"},
		{"another location", `{"access_token":"a","refresh_token":"r","expires_in":10,"locationId":"loc-2"}`, "locationId is loc-2, not location loc-1's"},
		{"not JSON", `<html>`, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{reply: func(int, *http.Request) (int, string) { return 200, tc.body }}
			store := oauth.NewMemoryStore()
			seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
			_, err := scripted(t, s, store).LocationToken(context.Background(), "loc-1")
			var te *oauth.TokenError
			if !errors.As(err, &te) || te.Temporary || !strings.Contains(err.Error(), tc.want) || s.n.Load() != 1 {
				t.Fatalf("err = %v, want %q after one request", err, tc.want)
			}
			if in, _ := store.Get(context.Background(), "location:loc-1"); in.AccessToken != "at-0" {
				t.Errorf("the store changed: %v", in)
			}
		})
	}
}

// Answers are read leniently where they may be: a numeric string
// expires_in, a huge one capped at a year, HighLevel's fields of an
// unexpected type ignored rather than failing a refresh that spent the old
// token.
func TestTokenAnswersLenientFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"access_token":"a","refresh_token":"r","expires_in":"1e12","userId":7,"planId":null,"isBulkInstallation":"true"}`
		s := &script{reply: func(int, *http.Request) (int, string) { return 200, body }}
		store := oauth.NewMemoryStore()
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		tok, err := scripted(t, s, store).LocationToken(context.Background(), "loc-1")
		if err != nil || time.Until(tok.Expiry) != 366*24*time.Hour {
			t.Fatalf("LocationToken = %v, %v", tok, err)
		}
		in, _ := store.Get(context.Background(), "location:loc-1")
		if in.LocationID != "loc-1" || in.UserType != oauth.Location || in.UserID != "" || !in.BulkInstallation {
			t.Errorf("stored %+v", *in)
		}
	})
}

// A process that read a due install, then took the lock after another
// process had refreshed and released it, reads again under the lock and
// uses the new pair: it never redeems the spent refresh token.
func TestReadAgainUnderTheLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := &countingStore{Store: oauth.NewMemoryStore()}
		seed(t, store, "loc-1", time.Now().Add(-time.Hour), time.Hour)
		mgr := scripted(t, s, store)
		store.beforeLock = func() {
			store.beforeLock = nil
			seed(t, store.Store, "loc-1", time.Now(), 100*time.Second) // the other process's new pair
		}
		tok, err := mgr.LocationToken(context.Background(), "loc-1")
		if err != nil || !tok.Expiry.After(time.Now()) || s.n.Load() != 0 {
			t.Fatalf("LocationToken = %v, %v; %d redemptions, want 0", tok, err, s.n.Load())
		}
	})
}

// A store that fails while the cached token still works fails no call;
// once the token is close to expiry, the store's error comes through.
func TestStoreOutageWithAValidToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{reply: func(n int, _ *http.Request) (int, string) { return 200, pair(n, "loc-1", 100) }}
		store := &countingStore{Store: oauth.NewMemoryStore()}
		seed(t, store, "loc-1", time.Now(), 100*time.Second)
		mgr := scripted(t, s, store)
		if _, err := mgr.LocationToken(context.Background(), "loc-1"); err != nil {
			t.Fatal(err)
		}
		store.failAll.Store(true)
		time.Sleep(85 * time.Second) // due for a refresh, still valid
		if tok, err := mgr.LocationToken(context.Background(), "loc-1"); err != nil || tok.AccessToken != "at-0" {
			t.Fatalf("during the outage: %v, %v", tok, err)
		}
		time.Sleep(11 * time.Second) // 4s before expiry: past the guard
		var se *oauth.StoreError
		if _, err := mgr.LocationToken(context.Background(), "loc-1"); !errors.As(err, &se) || s.n.Load() != 0 {
			t.Errorf("near expiry: %v; %d redemptions", err, s.n.Load())
		}
	})
}
