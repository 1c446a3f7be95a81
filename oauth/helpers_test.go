package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/oauth"
)

const (
	testClientID = "app-1"
	testSecret   = "client-secret-0123456789"
)

// startFake starts the fake with OAuth and returns it with a manager of
// its app over store.
func startFake(t *testing.T, store oauth.Store, fakeOpts []leadwaytest.Option, opts ...oauth.Option) (*leadwaytest.Server, *oauth.Manager) {
	t.Helper()
	srv := leadwaytest.NewServer(append([]leadwaytest.Option{leadwaytest.WithOAuth(testClientID, testSecret)}, fakeOpts...)...)
	t.Cleanup(srv.Close)
	mgr, err := oauth.NewManager(&oauth.Config{ClientID: testClientID, ClientSecret: testSecret, BaseURL: srv.URL}, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, mgr
}

// install exchanges a code of the fake for in.
func install(t *testing.T, srv *leadwaytest.Server, mgr *oauth.Manager, in leadwaytest.Install) *oauth.Install {
	t.Helper()
	got, err := mgr.Exchange(context.Background(), srv.AuthorizationCode(in))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// expire marks the stored install under key as expired, as if its day had
// passed, so that the next use refreshes it.
func expire(t *testing.T, store oauth.Store, key string) *oauth.Install {
	t.Helper()
	ctx := context.Background()
	in, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	in.IssuedAt, in.Expiry = time.Now().Add(-time.Hour), time.Now().Add(-time.Second)
	if err := store.Put(ctx, key, in); err != nil {
		t.Fatal(err)
	}
	return in
}

// noSecret fails when text contains any of secrets.
func noSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows a secret %q: %s", what, s, text)
		}
	}
}

// handlerTransport serves requests with a handler in this process, so
// that tests can run under testing/synctest with no socket.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// script is a token endpoint whose n-th answer (from 1) is up to the test.
type script struct {
	mu    sync.Mutex
	n     atomic.Int32
	forms []url.Values
	reply func(n int, r *http.Request) (int, string)
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	s.mu.Unlock()
	status, body := s.reply(int(s.n.Add(1)), r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// pair is a token answer for location loc, numbered n.
func pair(n int, loc string, lifetime int) string {
	return fmt.Sprintf(`{"access_token":"at-%d","token_type":"Bearer","expires_in":%d,"refresh_token":"rt-%d","scope":"opportunities.write","userType":"Location","locationId":"%s","companyId":"co-1"}`, n, lifetime, n, loc)
}

// scripted returns a manager whose token endpoint is s, over store.
func scripted(t *testing.T, s *script, store oauth.Store, opts ...oauth.Option) *oauth.Manager {
	t.Helper()
	mgr, err := oauth.NewManager(&oauth.Config{ClientID: testClientID, ClientSecret: testSecret,
		BaseURL: "https://services.example", HTTPClient: &http.Client{Transport: handlerTransport{s}}}, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// seed stores a Location install of loc whose token (at-0, rt-0) was
// issued at issued for lifetime.
func seed(t testing.TB, store oauth.Store, loc string, issued time.Time, lifetime time.Duration) {
	t.Helper()
	in := &oauth.Install{AccessToken: "at-0", RefreshToken: "rt-0", TokenType: "Bearer", IssuedAt: issued,
		Expiry: issued.Add(lifetime), UserType: oauth.Location, LocationID: loc, CompanyID: "co-1"}
	if err := store.Put(context.Background(), in.Key(), in); err != nil {
		t.Fatal(err)
	}
}

// countingStore counts the calls that reach a store, and can fail them.
type countingStore struct {
	oauth.Store
	calls   atomic.Int32
	locks   atomic.Int32
	failPut atomic.Bool
	failAll atomic.Bool
	// beforeLock, when set, runs before each Lock: another process acting
	// between a read and the lock.
	beforeLock func()
}

var errStoreDown = errors.New("store down")

func (c *countingStore) Get(ctx context.Context, key string) (*oauth.Install, error) {
	c.calls.Add(1)
	if c.failAll.Load() {
		return nil, errStoreDown
	}
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Put(ctx context.Context, key string, in *oauth.Install) error {
	c.calls.Add(1)
	if c.failAll.Load() || c.failPut.Load() {
		return errStoreDown
	}
	return c.Store.Put(ctx, key, in)
}

func (c *countingStore) List(ctx context.Context) ([]string, error) {
	c.calls.Add(1)
	if c.failAll.Load() {
		return nil, errStoreDown
	}
	return c.Store.List(ctx)
}

func (c *countingStore) Lock(ctx context.Context, key string, lease time.Duration) (oauth.Lease, error) {
	c.calls.Add(1)
	c.locks.Add(1)
	if c.failAll.Load() {
		return nil, errStoreDown
	}
	if c.beforeLock != nil {
		c.beforeLock()
	}
	return c.Store.Lock(ctx, key, lease)
}
