package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/oauth"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Exchange sends the form HighLevel's SDKs send, and stores the install
// the answer describes under its key.
func TestExchangeSendsTheFormAndStoresTheInstall(t *testing.T) {
	store := oauth.NewMemoryStore()
	srv, mgr := startFake(t, store, []leadwaytest.Option{leadwaytest.WithTokenLifetime(time.Hour)})
	code := srv.AuthorizationCode(leadwaytest.Install{UserType: "Company", CompanyID: "co-9", ApprovedLocations: []string{"l1", "l2"}})
	before := time.Now()
	in, err := mgr.Exchange(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	r := reqs[len(reqs)-1]
	form, _ := url.ParseQuery(string(r.Body))
	want := url.Values{"client_id": {testClientID}, "client_secret": {testSecret}, "grant_type": {"authorization_code"}, "code": {code}}
	if r.Method != "POST" || r.Path != "/oauth/token" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		r.Header.Get("Authorization") != "" || !reflect.DeepEqual(form, want) {
		t.Errorf("request: %s %s %v\nform %v\nwant %v", r.Method, r.Path, r.Header, form, want)
	}
	if in.UserType != oauth.Company || in.CompanyID != "co-9" || !slices.Equal(in.ApprovedLocations, []string{"l1", "l2"}) ||
		in.Key() != "company:co-9" || in.RefreshToken == "" || in.TokenType != "Bearer" || in.UserID != "user-1" || in.PlanID != "plan-1" {
		t.Errorf("install = %+v (%s)", *in, in.Scope)
	}
	if life := in.Expiry.Sub(in.IssuedAt); life != time.Hour || in.IssuedAt.Before(before) {
		t.Errorf("issued %v, lifetime %v", in.IssuedAt, life)
	}
	stored, err := store.Get(context.Background(), "company:co-9")
	if err != nil || stored.RefreshToken != in.RefreshToken {
		t.Fatalf("stored = %v, %v", stored, err)
	}
	list, err := mgr.Installs(context.Background())
	if err != nil || len(list) != 1 || list[0].Key() != "company:co-9" {
		t.Errorf("Installs = %v, %v", list, err)
	}
}

// With a redirect URL and a user type, the exchange sends both.
func TestExchangeSendsRedirectAndUserType(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithOAuth(testClientID, testSecret))
	defer srv.Close()
	mgr, err := oauth.NewManager(&oauth.Config{ClientID: testClientID, ClientSecret: testSecret, BaseURL: srv.URL,
		RedirectURL: "http://127.0.0.1:1/cb"}, oauth.NewMemoryStore(), oauth.WithUserType(oauth.Location))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Exchange(context.Background(), srv.AuthorizationCode(leadwaytest.Install{LocationID: "l"})); err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(srv.Requests()[0].Body))
	if form.Get("redirect_uri") != "http://127.0.0.1:1/cb" || form.Get("user_type") != "Location" {
		t.Errorf("form = %v", form)
	}
}

// A code that is wrong or used twice is ErrReauthorize, and its message
// shows neither the code nor the secret.
func TestExchangeRefusedCode(t *testing.T) {
	srv, mgr := startFake(t, oauth.NewMemoryStore(), nil)
	code := srv.AuthorizationCode(leadwaytest.Install{LocationID: "l"})
	if _, err := mgr.Exchange(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{code, "code-unknown"} {
		_, err := mgr.Exchange(context.Background(), c)
		var te *oauth.TokenError
		if !errors.Is(err, oauth.ErrReauthorize) || !errors.As(err, &te) || te.StatusCode != 400 || te.Temporary {
			t.Fatalf("Exchange(%s) = %v", c, err)
		}
		if !strings.Contains(err.Error(), "authorization code was refused") {
			t.Errorf("message: %v", err)
		}
		noSecret(t, "the error", fmt.Sprintf("%v %+v", err, err), c, testSecret)
	}
	for _, bad := range []string{"", "a b", strings.Repeat("x", 5000)} {
		if _, err := mgr.Exchange(context.Background(), bad); err == nil || strings.Contains(err.Error(), bad) && bad != "" {
			t.Errorf("Exchange(%.10q) = %v", bad, err)
		}
	}
}

// 1,000 goroutines that find the token expired cause one redemption, and
// all get its token.
func TestSingleFlightInOneProcess(t *testing.T) {
	store := &countingStore{Store: oauth.NewMemoryStore()}
	srv, mgr := startFake(t, store, nil)
	install(t, srv, mgr, leadwaytest.Install{LocationID: "loc-1"})
	old := expire(t, store, "location:loc-1")
	var wg sync.WaitGroup
	tokens := make([]string, 1000)
	for i := range tokens {
		wg.Go(func() {
			tok, err := mgr.LocationToken(context.Background(), "loc-1")
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if st := srv.OAuthStats(); st.Refreshes != 1 || st.Reuses != 0 {
		t.Errorf("OAuthStats = %+v, want one refresh", st)
	}
	if n := store.locks.Load(); n != 1 {
		t.Errorf("%d lock attempts, want 1: one flight for the process", n)
	}
	for _, tok := range tokens {
		if tok != tokens[0] || tok == old.AccessToken {
			t.Fatalf("tokens differ or are the old one: %q %q", tok, tokens[0])
		}
	}
}

// A refresh token redeemed out of band: the next refresh is ErrReauthorize,
// naming the location, with no secret in its message.
func TestRefreshTokenSpentElsewhereIsErrReauthorize(t *testing.T) {
	store := oauth.NewMemoryStore()
	srv, mgr := startFake(t, store, nil)
	in := install(t, srv, mgr, leadwaytest.Install{LocationID: "loc-5"})
	// Another copy of the install redeems the refresh token.
	stolen := oauth.NewMemoryStore()
	_ = stolen.Put(context.Background(), in.Key(), in)
	thief, _ := oauth.NewManager(&oauth.Config{ClientID: testClientID, ClientSecret: testSecret, BaseURL: srv.URL}, stolen)
	expire(t, stolen, in.Key())
	if _, err := thief.LocationToken(context.Background(), "loc-5"); err != nil {
		t.Fatal(err)
	}
	expire(t, store, in.Key())
	_, err := mgr.LocationToken(context.Background(), "loc-5")
	var te *oauth.TokenError
	if !errors.Is(err, oauth.ErrReauthorize) || !errors.As(err, &te) || te.Op != "refresh" || te.Install != "location loc-5" {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "location loc-5 must be authorized again") || !strings.Contains(msg, "reinstall or reconnect") {
		t.Errorf("message = %s", msg)
	}
	noSecret(t, "the error", fmt.Sprintf("%v|%+v|%#v", err, err, errors.Unwrap(err)), in.AccessToken, in.RefreshToken, testSecret)
}

// Steady state costs no store round trip: the token comes from memory
// until its refresh margin.
func TestSteadyStateStaysInMemory(t *testing.T) {
	store := &countingStore{Store: oauth.NewMemoryStore()}
	srv, mgr := startFake(t, store, nil)
	install(t, srv, mgr, leadwaytest.Install{LocationID: "loc-1"})
	first, err := mgr.LocationToken(context.Background(), "loc-1")
	if err != nil {
		t.Fatal(err)
	}
	before := store.calls.Load()
	for range 1000 {
		tok, err := mgr.LocationToken(context.Background(), "loc-1")
		if err != nil || tok != first {
			t.Fatalf("LocationToken = %v, %v", tok, err)
		}
	}
	if n := store.calls.Load() - before; n != 0 {
		t.Errorf("%d store calls in steady state, want 0", n)
	}
}

// Two managers over one store (two processes) share an agency's minted
// location tokens: one mint per location.
func TestMintedTokensAreShared(t *testing.T) {
	store := oauth.NewMemoryStore()
	srv, a := startFake(t, store, nil)
	b, _ := oauth.NewManager(&oauth.Config{ClientID: testClientID, ClientSecret: testSecret, BaseURL: srv.URL}, store)
	install(t, srv, a, leadwaytest.Install{UserType: "Company", CompanyID: "co-1", ApprovedLocations: []string{"l1", "l2"}})
	for _, m := range []*oauth.Manager{a, b, a, b} {
		for _, loc := range []string{"l1", "l2"} {
			if _, err := m.LocationToken(context.Background(), loc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := srv.OAuthStats(); st.LocationTokens != 2 {
		t.Errorf("OAuthStats = %+v, want 2 location tokens", st)
	}
	r := srv.Requests()[1]
	form, _ := url.ParseQuery(string(r.Body))
	if r.Path != "/oauth/locationToken" || r.Header.Get("Version") != "2021-07-28" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") ||
		!reflect.DeepEqual(form, url.Values{"companyId": {"co-1"}, "locationId": {"l1"}}) {
		t.Errorf("mint request: %s %v %v", r.Path, r.Header, form)
	}
}

// A location no install covers: the error names the installs there are.
func TestNoInstallCoversTheLocation(t *testing.T) {
	srv, mgr := startFake(t, oauth.NewMemoryStore(), nil)
	_, err := mgr.LocationToken(context.Background(), "loc-x")
	var ni *oauth.NoInstallError
	if !errors.As(err, &ni) || !strings.Contains(err.Error(), "the store holds no install") {
		t.Fatalf("err = %v", err)
	}
	install(t, srv, mgr, leadwaytest.Install{LocationID: "loc-1"})
	install(t, srv, mgr, leadwaytest.Install{UserType: "Company", CompanyID: "co-1", ApprovedLocations: []string{"l1"}})
	_, err = mgr.LocationToken(context.Background(), "loc-x")
	want := "oauth: no stored install covers location loc-x: the store holds company:co-1, location:loc-1, and none is for this location or approves it"
	if !errors.As(err, &ni) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v", err)
	}
	if _, err := mgr.LocationToken(context.Background(), "bad id"); err == nil {
		t.Error("a location ID with a space was accepted")
	}
}

// Delete removes an install and its minted tokens; the next call says no
// install covers the location.
func TestDelete(t *testing.T) {
	store := oauth.NewMemoryStore()
	srv, mgr := startFake(t, store, nil)
	install(t, srv, mgr, leadwaytest.Install{UserType: "Company", CompanyID: "co-1", ApprovedLocations: []string{"l1"}})
	if _, err := mgr.LocationToken(context.Background(), "l1"); err != nil {
		t.Fatal(err)
	}
	if err := mgr.Delete(context.Background(), "company:co-1"); err != nil {
		t.Fatal(err)
	}
	keys, _ := store.List(context.Background())
	if len(keys) != 0 {
		t.Errorf("left in the store: %v", keys)
	}
	var ni *oauth.NoInstallError
	if _, err := mgr.LocationToken(context.Background(), "l1"); !errors.As(err, &ni) {
		t.Errorf("after Delete: %v", err)
	}
	if err := mgr.Delete(context.Background(), "company:co-1"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Delete again = %v", err)
	}
	if err := mgr.Delete(context.Background(), "minted:l1"); err == nil {
		t.Error("Delete took a key that names no install")
	}
}

// An install prints, formats and logs without its tokens.
func TestInstallShowsNoToken(t *testing.T) {
	in := oauth.Install{AccessToken: "at-secret", RefreshToken: "rt-secret", UserType: oauth.Location, LocationID: "l1",
		Expiry: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "install", in, "ptr", &in)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "install", in)
	text := fmt.Sprintf("%v %+v %#v %s %d %x %q", in, &in, in, in, in, in, in) + buf.String()
	noSecret(t, "printing an install", text, "at-secret", "rt-secret")
	if want := "Location install of location l1, expires 2026-01-02T03:04:05Z"; fmt.Sprint(in) != want {
		t.Errorf("String = %q", fmt.Sprint(in))
	}
}

// NewManager and the options name what is wrong, never the secret.
func TestConfigAndOptionsCheckTheirInput(t *testing.T) {
	good := oauth.Config{ClientID: "id", ClientSecret: "sec-ret"}
	for name, tc := range map[string]struct {
		cfg  oauth.Config
		opts []oauth.Option
	}{
		"no client ID":        {cfg: oauth.Config{ClientSecret: "s"}},
		"no secret":           {cfg: oauth.Config{ClientID: "id"}},
		"secret with a space": {cfg: oauth.Config{ClientID: "id", ClientSecret: "sec ret"}},
		"http to a remote":    {cfg: oauth.Config{ClientID: "id", ClientSecret: "sec-ret", BaseURL: "http://example.com"}},
		"user info":           {cfg: oauth.Config{ClientID: "id", ClientSecret: "sec-ret", BaseURL: "https://u:sec-ret@example.com"}},
		"bad auth URL":        {cfg: oauth.Config{ClientID: "id", ClientSecret: "sec-ret", AuthURL: "ftp://x"}},
		"share 1":             {cfg: good, opts: []oauth.Option{oauth.WithRefreshMargin(1, time.Minute)}},
		"margin 0":            {cfg: good, opts: []oauth.Option{oauth.WithRefreshMargin(0.1, 0)}},
		"lease 1ms":           {cfg: good, opts: []oauth.Option{oauth.WithLockLease(time.Millisecond)}},
		"token timeout 0":     {cfg: good, opts: []oauth.Option{oauth.WithTokenTimeout(0)}},
		"refresh timeout -1":  {cfg: good, opts: []oauth.Option{oauth.WithRefreshTimeout(-1)}},
		"user type Agency":    {cfg: good, opts: []oauth.Option{oauth.WithUserType("Agency")}},
		"nil logger":          {cfg: good, opts: []oauth.Option{oauth.WithLogger(nil)}},
	} {
		_, err := oauth.NewManager(&tc.cfg, oauth.NewMemoryStore(), tc.opts...)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		noSecret(t, name, err.Error(), "sec-ret", "sec ret")
	}
	if _, err := oauth.NewManager(&good, nil); err == nil {
		t.Error("nil store accepted")
	}
}

// AuthCodeURL is the Marketplace's URL with the fields HighLevel reads.
func TestAuthCodeURL(t *testing.T) {
	cfg := &oauth.Config{ClientID: "app-1", RedirectURL: "https://app.example/cb", Scopes: []string{"opportunities.write", "oauth.write"}}
	want := "https://marketplace.gohighlevel.com/oauth/chooselocation?client_id=app-1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=opportunities.write+oauth.write&state=st"
	if got := cfg.AuthCodeURL("st"); got != want {
		t.Errorf("AuthCodeURL =\n %s\nwant\n %s", got, want)
	}
	cfg.AuthURL = "https://crm.example/oauth/chooselocation"
	if got := cfg.AuthCodeURL("st"); !strings.HasPrefix(got, "https://crm.example/oauth/chooselocation?") {
		t.Errorf("white-label AuthCodeURL = %s", got)
	}
}

// A minted token the API refused is replaced at once, but a second
// refusal right after mints nothing more.
func TestRefusedMintedTokenMintsOnce(t *testing.T) {
	srv, mgr := startFake(t, oauth.NewMemoryStore(), nil)
	install(t, srv, mgr, leadwaytest.Install{UserType: "Company", CompanyID: "co-1", ApprovedLocations: []string{"l1"}})
	ctx := context.Background()
	first, err := mgr.LocationToken(ctx, "l1")
	if err != nil {
		t.Fatal(err)
	}
	mgr.InvalidateLocationToken("l1", first)
	second, err := mgr.LocationToken(ctx, "l1")
	if err != nil || second.AccessToken == first.AccessToken {
		t.Fatalf("after a refusal: %v, %v", second, err)
	}
	mgr.InvalidateLocationToken("l1", second)
	if third, _ := mgr.LocationToken(ctx, "l1"); third.AccessToken != second.AccessToken {
		t.Errorf("a second refusal at once minted again")
	}
	if st := srv.OAuthStats(); st.LocationTokens != 2 {
		t.Errorf("OAuthStats = %+v, want 2 location tokens", st)
	}
}
