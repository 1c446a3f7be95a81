package leadwaytest

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeoauth"
)

// chooseLocation approves the configured install at once and sends the
// user back to redirect_uri with a code and the state.
func (o *oauthServer) chooseLocation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != o.cfg.clientID {
		oauthError(w, http.StatusBadRequest, "invalid_client", "unknown client_id")
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (back.Scheme != "http" && back.Scheme != "https") || back.Host == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "redirect_uri must be an absolute http or https URL")
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = defaultScope
	}
	code := o.newCode(o.cfg.approve, scope, q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	if state := q.Get("state"); state != "" {
		v.Set("state", state)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token redeems a code or a refresh token, as POST /oauth/token does.
func (o *oauthServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form could not be read")
		return
	}
	f := r.PostForm
	if f.Get("client_id") != o.cfg.clientID || !sameSecret(f.Get("client_secret"), o.cfg.secret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "the client ID and secret do not match an app")
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var (
		in     *fakeInstall
		status int
		code   string
		why    string
	)
	switch f.Get("grant_type") {
	case "authorization_code":
		in, status, code, why = o.redeemCode(f.Get("code"), f.Get("redirect_uri"))
	case "refresh_token":
		in, status, code, why = o.redeemRefresh(f.Get("refresh_token"))
	default:
		status, code, why = http.StatusBadRequest, "unsupported_grant_type", "this server issues no token for grant_type "+f.Get("grant_type")
	}
	if in == nil {
		oauthError(w, status, code, why)
		return
	}
	writeJSON(w, http.StatusOK, o.issuePair(in))
}

// redeemCode checks a code and starts its install. A code redeemed twice
// revokes the install it started. The caller holds o.mu.
func (o *oauthServer) redeemCode(code, redirectURI string) (*fakeInstall, int, string, string) {
	if code == "" {
		return nil, http.StatusBadRequest, "invalid_request", "code is required with grant_type authorization_code"
	}
	c := o.codes[code]
	switch {
	case c == nil:
		return nil, http.StatusBadRequest, "invalid_grant", "the code is not valid"
	case c.install != nil:
		o.revoke(c.install)
		return nil, http.StatusBadRequest, "invalid_grant", "the code was used already; the tokens issued for it are revoked"
	case !o.now().Before(c.expires):
		return nil, http.StatusBadRequest, "invalid_grant", "the code has expired"
	case redirectURI != "" && c.redirectURI != "" && redirectURI != c.redirectURI:
		return nil, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request"
	}
	c.install = &fakeInstall{in: c.in, scope: c.scope}
	o.installs = append(o.installs, c.install)
	o.stats.Exchanges++
	return c.install, 0, "", ""
}

// redeemRefresh spends a refresh token. One redeemed twice revokes its
// whole install, every token of it. The caller holds o.mu.
func (o *oauthServer) redeemRefresh(token string) (*fakeInstall, int, string, string) {
	if token == "" {
		return nil, http.StatusBadRequest, "invalid_request", "refresh_token is required with grant_type refresh_token"
	}
	rt := o.refresh[token]
	switch {
	case rt == nil:
		return nil, http.StatusBadRequest, "invalid_grant", "the refresh token is not valid"
	case rt.used:
		o.revoke(rt.install)
		return nil, http.StatusBadRequest, "invalid_grant", "the refresh token was used already; the install is revoked"
	case rt.install.revoked:
		return nil, http.StatusBadRequest, "invalid_grant", "the install was revoked"
	}
	rt.used = true
	o.stats.Refreshes++
	return rt.install, 0, "", ""
}

// revoke ends an install after a reuse: its tokens stop working. The
// caller holds o.mu.
func (o *oauthServer) revoke(in *fakeInstall) {
	in.revoked = true
	o.stats.Reuses++
}

// issuePair issues an access and a refresh token for an install. The
// caller holds o.mu.
func (o *oauthServer) issuePair(in *fakeInstall) fakeoauth.TokenResponse {
	access, refresh := "at-"+randomHex(16), "rt-"+randomHex(16)
	location := ""
	if in.in.UserType == "Location" {
		location = in.in.LocationID
	}
	o.addAccess(access, &fakeAccess{install: in, location: location})
	o.refresh[refresh] = &fakeRefresh{install: in}
	userType := fakeoauth.UserType(in.in.UserType)
	bulk := false
	answer := fakeoauth.TokenResponse{
		AccessToken:        access,
		TokenType:          "Bearer",
		ExpiresIn:          int(o.cfg.lifetime / time.Second),
		RefreshToken:       refresh,
		Scope:              &in.scope,
		UserType:           &userType,
		CompanyId:          &in.in.CompanyID,
		UserId:             ptr("user-1"),
		PlanId:             ptr("plan-1"),
		IsBulkInstallation: &bulk,
	}
	if location != "" {
		answer.LocationId = &location
	} else {
		answer.ApprovedLocations = ptr(slices.Clone(in.in.ApprovedLocations))
	}
	return answer
}

// sweepEvery is how many access tokens are issued between sweeps of the
// expired ones, which bounds the fake's memory over a long run.
const sweepEvery = 1024

// addAccess records an access token. The caller holds o.mu.
func (o *oauthServer) addAccess(token string, a *fakeAccess) {
	now := o.now()
	a.expires = now.Add(o.cfg.lifetime)
	if o.issued++; o.issued >= sweepEvery {
		o.issued = 0
		for t, old := range o.access {
			if !now.Before(old.expires) {
				delete(o.access, t)
			}
		}
	}
	o.access[token] = a
}

// locationToken mints a token for an approved location from the Company
// token the validator accepted.
func (o *oauthServer) locationToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "the form could not be read", "Bad Request")
		return
	}
	_, token, _ := cutBearer(r.Header.Get("Authorization"))
	o.mu.Lock()
	defer o.mu.Unlock()
	company := o.live(token)
	if company == nil { // expired since the validator looked
		writeError(w, http.StatusUnauthorized, "Invalid token", "Unauthorized")
		return
	}
	in := company.install
	loc := r.PostForm.Get("locationId")
	switch {
	case r.PostForm.Get("companyId") != in.in.CompanyID:
		writeError(w, http.StatusBadRequest, "companyId does not match the token's company", "Bad Request")
		return
	case !slices.Contains(in.in.ApprovedLocations, loc):
		writeError(w, http.StatusBadRequest, "Location "+loc+" is not approved for this install", "Bad Request")
		return
	}
	access := "lt-" + randomHex(16)
	o.addAccess(access, &fakeAccess{install: in, location: loc})
	o.stats.LocationTokens++
	writeJSON(w, http.StatusOK, fakeoauth.LocationTokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int(o.cfg.lifetime / time.Second),
		Scope:       &in.scope,
		LocationId:  &loc,
		PlanId:      ptr("plan-1"),
		UserId:      ptr("user-1"),
	})
}
