package leadwaytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
)

const (
	clientID     = "app-1"
	clientSecret = "app-secret-1"
)

// tokenAnswer is the fake's token answer, decoded.
type tokenAnswer struct {
	AccessToken       string   `json:"access_token"`
	TokenType         string   `json:"token_type"`
	ExpiresIn         int      `json:"expires_in"`
	RefreshToken      string   `json:"refresh_token"`
	Scope             string   `json:"scope"`
	UserType          string   `json:"userType"`
	LocationID        string   `json:"locationId"`
	CompanyID         string   `json:"companyId"`
	ApprovedLocations []string `json:"approvedLocations"`
}

// postForm posts form fields as HighLevel's SDKs do; bearer, when set,
// goes in Authorization with the Version header.
func postForm(t *testing.T, srv *leadwaytest.Server, path string, form url.Values, bearer string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Version", "2021-07-28")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func grant(fields ...string) url.Values {
	v := url.Values{"client_id": {clientID}, "client_secret": {clientSecret}}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Set(fields[i], fields[i+1])
	}
	return v
}

func decodeToken(t *testing.T, a answer) tokenAnswer {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("token answer %d: %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var tok tokenAnswer
	if err := json.Unmarshal([]byte(a.body), &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// upsertWith posts the minimal body for location with token.
func upsertWith(t *testing.T, srv *leadwaytest.Server, location, token string) answer {
	t.Helper()
	body := strings.Replace(minimalBody, `"loc-1"`, `"`+location+`"`, 1)
	return send(t, srv, http.MethodPost, upsertPath, body, map[string]string{"Authorization": "Bearer " + token})
}

func startOAuth(t *testing.T, opts ...leadwaytest.Option) *leadwaytest.Server {
	t.Helper()
	srv := leadwaytest.NewServer(append([]leadwaytest.Option{leadwaytest.WithOAuth(clientID, clientSecret)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// The browser flow: chooselocation approves and redirects with the code
// and the state; the code, with the redirect_uri it was issued for,
// answers HighLevel's token fields; the access token upserts for its
// location only, and the fake's static token no longer works.
func TestOAuthCodeFlow(t *testing.T) {
	srv := startOAuth(t, leadwaytest.WithTokenLifetime(90*time.Second))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb?x=1"},
		"scope": {"opportunities.write"}, "state": {"st-1"}}
	resp, err := noRedirect.Get(srv.URL + "/oauth/chooselocation?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("chooselocation: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	if loc.Host != "127.0.0.1:9" || loc.Path != "/cb" || loc.Query().Get("state") != "st-1" || loc.Query().Get("x") != "1" || code == "" {
		t.Fatalf("redirect = %s", loc)
	}
	a := postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code", "code", code,
		"redirect_uri", "http://127.0.0.1:9/cb?x=1", "user_type", "Location"), "")
	tok := decodeToken(t, a)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 90 || tok.UserType != "Location" || tok.LocationID != "loc-1" ||
		tok.CompanyID != "company-1" || tok.Scope != "opportunities.write" || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Errorf("token answer = %s", a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", a.header.Get("Cache-Control"))
	}
	if got := upsertWith(t, srv, "loc-1", tok.AccessToken); got.status != http.StatusOK {
		t.Errorf("upsert with the access token: %d %s", got.status, got.body)
	}
	other := upsertWith(t, srv, "loc-2", tok.AccessToken)
	assertJSON(t, other.body, `{"statusCode":401,"message":"The token is not authorized for this location.","error":"Unauthorized"}`)
	static := upsertWith(t, srv, "loc-1", srv.Token)
	assertJSON(t, static.body, `{"statusCode":401,"message":"Invalid token","error":"Unauthorized"}`)
	if st := srv.OAuthStats(); st != (leadwaytest.OAuthStats{Exchanges: 1}) {
		t.Errorf("OAuthStats = %+v", st)
	}
}

// A refresh token works once. Redeeming it again revokes the install:
// the new pair stops working too, and Reuses counts it.
func TestOAuthRefreshTokenReuseRevokesTheInstall(t *testing.T) {
	srv := startOAuth(t)
	first := decodeToken(t, postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code",
		"code", srv.AuthorizationCode(leadwaytest.Install{LocationID: "loc-7"})), ""))
	second := decodeToken(t, postForm(t, srv, "/oauth/token", grant("grant_type", "refresh_token", "refresh_token", first.RefreshToken), ""))
	if second.LocationID != "loc-7" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatalf("refresh answer = %+v", second)
	}
	if a := upsertWith(t, srv, "loc-7", first.AccessToken); a.status != http.StatusOK {
		t.Errorf("the old access token stops only at its expiry: %d", a.status)
	}
	again := postForm(t, srv, "/oauth/token", grant("grant_type", "refresh_token", "refresh_token", first.RefreshToken), "")
	if again.status != http.StatusBadRequest || !strings.Contains(again.body, `"error":"invalid_grant"`) {
		t.Errorf("reuse: %d %s", again.status, again.body)
	}
	for _, tok := range []string{first.AccessToken, second.AccessToken} {
		if a := upsertWith(t, srv, "loc-7", tok); a.status != http.StatusUnauthorized {
			t.Errorf("upsert after the reuse: %d, want 401", a.status)
		}
	}
	next := postForm(t, srv, "/oauth/token", grant("grant_type", "refresh_token", "refresh_token", second.RefreshToken), "")
	if next.status != http.StatusBadRequest || !strings.Contains(next.body, "invalid_grant") {
		t.Errorf("the new refresh token after the reuse: %d %s", next.status, next.body)
	}
	if st := srv.OAuthStats(); st != (leadwaytest.OAuthStats{Exchanges: 1, Refreshes: 1, Reuses: 1}) {
		t.Errorf("OAuthStats = %+v", st)
	}
}

// What the token endpoint refuses, and how it says so.
func TestOAuthTokenEndpointRefusals(t *testing.T) {
	clk := newClock()
	srv := startOAuth(t, leadwaytest.WithClock(clk.Now))
	used := srv.AuthorizationCode(leadwaytest.Install{LocationID: "loc-1"})
	decodeToken(t, postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code", "code", used), ""))
	expired := srv.AuthorizationCode(leadwaytest.Install{LocationID: "loc-1"})
	clk.Advance(11 * time.Minute)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"wrong secret", url.Values{"client_id": {clientID}, "client_secret": {"nope"}, "grant_type": {"authorization_code"}, "code": {"c"}}, 401, `"error":"invalid_client"`},
		{"no grant_type", grant("code", "c"), 400, `"error_description":"grant_type is required"`},
		{"no client_secret", url.Values{"client_id": {clientID}, "grant_type": {"refresh_token"}}, 400, `"client_secret is required"`},
		{"unknown grant_type", grant("grant_type", "password"), 400, `"error_description":"grant_type must be one of authorization_code, refresh_token, client_credentials"`},
		{"client_credentials", grant("grant_type", "client_credentials"), 400, `"error":"unsupported_grant_type"`},
		{"no code", grant("grant_type", "authorization_code"), 400, `"error":"invalid_request"`},
		{"wrong code", grant("grant_type", "authorization_code", "code", "code-nope"), 400, `"error":"invalid_grant"`},
		{"expired code", grant("grant_type", "authorization_code", "code", expired), 400, `"the code has expired"`},
		{"code used twice", grant("grant_type", "authorization_code", "code", used), 400, `"the code was used already`},
		{"unknown refresh token", grant("grant_type", "refresh_token", "refresh_token", "rt-nope"), 400, `"error":"invalid_grant"`},
		{"bad user_type", grant("grant_type", "refresh_token", "refresh_token", "x", "user_type", "Agency"), 400, `"user_type must be one of Location, Company"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := postForm(t, srv, "/oauth/token", tc.form, "")
			if a.status != tc.status || !strings.Contains(a.body, tc.want) {
				t.Errorf("%d %s; want %d with %s", a.status, a.body, tc.status, tc.want)
			}
		})
	}
	if st := srv.OAuthStats(); st.Reuses != 1 {
		t.Errorf("a code redeemed twice counts as a reuse: %+v", st)
	}
}

// An agency install mints location tokens for its approved locations,
// with the Company token as Bearer and the Version header; the Company
// token itself upserts nothing.
func TestOAuthLocationToken(t *testing.T) {
	srv := startOAuth(t, leadwaytest.WithTokenLifetime(30*time.Second))
	company := decodeToken(t, postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code",
		"code", srv.AuthorizationCode(leadwaytest.Install{UserType: "Company", CompanyID: "co-1", ApprovedLocations: []string{"loc-a", "loc-b"}})), ""))
	if company.UserType != "Company" || company.CompanyID != "co-1" || strings.Join(company.ApprovedLocations, ",") != "loc-a,loc-b" || company.LocationID != "" {
		t.Fatalf("company answer = %+v", company)
	}
	a := postForm(t, srv, "/oauth/locationToken", url.Values{"companyId": {"co-1"}, "locationId": {"loc-b"}}, company.AccessToken)
	var minted struct {
		AccessToken  string `json:"access_token"`
		ExpiresIn    int    `json:"expires_in"`
		LocationID   string `json:"locationId"`
		RefreshToken string `json:"refresh_token"`
	}
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &minted) != nil || minted.LocationID != "loc-b" || minted.ExpiresIn != 30 || minted.RefreshToken != "" {
		t.Fatalf("locationToken: %d %s", a.status, a.body)
	}
	if got := upsertWith(t, srv, "loc-b", minted.AccessToken); got.status != http.StatusOK {
		t.Errorf("upsert with the minted token: %d %s", got.status, got.body)
	}
	refusal := upsertWith(t, srv, "loc-b", company.AccessToken)
	if refusal.status != http.StatusUnauthorized || !strings.Contains(refusal.body, "Company access token") {
		t.Errorf("upsert with the Company token: %d %s", refusal.status, refusal.body)
	}
	for _, tc := range []struct {
		name, company, location, bearer string
		status                          int
		want                            string
	}{
		{"not approved", "co-1", "loc-z", company.AccessToken, 400, "Location loc-z is not approved for this install"},
		{"another company", "co-2", "loc-a", company.AccessToken, 400, "companyId does not match"},
		{"a location token", "co-1", "loc-a", minted.AccessToken, 401, "needs a Company access token"},
		{"unknown token", "co-1", "loc-a", "nope", 401, "Invalid token"},
		{"no locationId", "co-1", "", company.AccessToken, 400, "locationId is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"companyId": {tc.company}}
			if tc.location != "" {
				form.Set("locationId", tc.location)
			}
			a := postForm(t, srv, "/oauth/locationToken", form, tc.bearer)
			if a.status != tc.status || !strings.Contains(a.body, tc.want) {
				t.Errorf("%d %s; want %d with %q", a.status, a.body, tc.status, tc.want)
			}
		})
	}
	if st := srv.OAuthStats(); st.LocationTokens != 1 {
		t.Errorf("OAuthStats = %+v", st)
	}
}

// Tokens stop working at their lifetime, on the fake's clock.
func TestOAuthTokensExpire(t *testing.T) {
	clk := newClock()
	srv := startOAuth(t, leadwaytest.WithClock(clk.Now), leadwaytest.WithTokenLifetime(2*time.Second))
	tok := decodeToken(t, postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code",
		"code", srv.AuthorizationCode(leadwaytest.Install{LocationID: "loc-1"})), ""))
	if tok.ExpiresIn != 2 {
		t.Errorf("expires_in = %d", tok.ExpiresIn)
	}
	clk.Advance(1999 * time.Millisecond)
	if a := upsertWith(t, srv, "loc-1", tok.AccessToken); a.status != http.StatusOK {
		t.Errorf("before expiry: %d", a.status)
	}
	clk.Advance(time.Millisecond)
	if a := upsertWith(t, srv, "loc-1", tok.AccessToken); a.status != http.StatusUnauthorized {
		t.Errorf("at expiry: %d, want 401", a.status)
	}
}

// Token faults hit the token endpoints only, and FailNext leaves them be.
func TestOAuthTokenFaults(t *testing.T) {
	srv := startOAuth(t)
	code := srv.AuthorizationCode(leadwaytest.Install{LocationID: "loc-1"})
	srv.FailNext(1, leadwaytest.Fault{Status: 500})
	srv.FailNextTokenRequests(1, leadwaytest.Fault{Status: 503})
	if a := postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code", "code", code), ""); a.status != 503 {
		t.Fatalf("first token request: %d, want the queued 503", a.status)
	}
	tok := decodeToken(t, postForm(t, srv, "/oauth/token", grant("grant_type", "authorization_code", "code", code), ""))
	if a := upsertWith(t, srv, "loc-1", tok.AccessToken); a.status != 500 {
		t.Errorf("the upsert takes FailNext's fault: %d", a.status)
	}
	srv.FailTokenRequestsFor(time.Hour, leadwaytest.Fault{Status: 502})
	if a := postForm(t, srv, "/oauth/token", grant("grant_type", "refresh_token", "refresh_token", tok.RefreshToken), ""); a.status != 502 {
		t.Errorf("during the outage: %d", a.status)
	}
	if a := upsertWith(t, srv, "loc-1", tok.AccessToken); a.status != 200 {
		t.Errorf("upserts pass the outage by: %d", a.status)
	}
}

func TestOAuthOptionsCheckTheirInput(t *testing.T) {
	for name, opt := range map[string]leadwaytest.Option{
		"empty client ID":       leadwaytest.WithOAuth("", "s"),
		"secret with a space":   leadwaytest.WithOAuth("id", "a b"),
		"lifetime under 1s":     leadwaytest.WithTokenLifetime(999 * time.Millisecond),
		"location without id":   leadwaytest.WithApprovedInstall(leadwaytest.Install{UserType: "Location"}),
		"company without locs":  leadwaytest.WithApprovedInstall(leadwaytest.Install{UserType: "Company"}),
		"an unknown user type ": leadwaytest.WithApprovedInstall(leadwaytest.Install{UserType: "Agency", LocationID: "l"}),
	} {
		if _, err := leadwaytest.Start(opt); err == nil {
			t.Errorf("%s: Start accepted it", name)
		}
	}
}
