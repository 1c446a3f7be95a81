package leadwaytest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTokenLifetime is how long the fake's access tokens live by
// default, as HighLevel's: expires_in 86399.
const DefaultTokenLifetime = 86399 * time.Second

// defaultScope is what an authorization that asks for no scope grants.
const defaultScope = "opportunities.write oauth.write"

// Install is an install the fake's OAuth server grants: a Location install
// of one location, or a Company (agency) install that approves locations.
type Install struct {
	// UserType is "Location" or "Company". Default: "Location".
	UserType string
	// LocationID is the location of a Location install.
	LocationID string
	// CompanyID is the agency. Default: "company-1".
	CompanyID string
	// ApprovedLocations are the locations a Company install may mint
	// tokens for.
	ApprovedLocations []string
}

// check fills the defaults and refuses an install the fake cannot grant.
func (in Install) check() (Install, error) {
	if in.UserType == "" {
		in.UserType = "Location"
	}
	if in.CompanyID == "" {
		in.CompanyID = "company-1"
	}
	in.ApprovedLocations = slices.Clone(in.ApprovedLocations)
	switch {
	case in.UserType == "Location" && in.LocationID == "":
		return in, errors.New("leadwaytest: a Location install needs a LocationID")
	case in.UserType == "Company" && len(in.ApprovedLocations) == 0:
		return in, errors.New("leadwaytest: a Company install needs ApprovedLocations")
	case in.UserType != "Location" && in.UserType != "Company":
		return in, fmt.Errorf("leadwaytest: user type %q: must be Location or Company", in.UserType)
	}
	return in, nil
}

// OAuthStats counts what the fake's OAuth server did.
type OAuthStats struct {
	// Exchanges is how many authorization codes were exchanged.
	Exchanges int
	// Refreshes is how many refresh tokens were redeemed.
	Refreshes int
	// Reuses is how many reuses were detected: a refresh token or a code
	// redeemed a second time. Each revoked its whole install.
	Reuses int
	// LocationTokens is how many location tokens were minted.
	LocationTokens int
}

// oauthConfig is what the OAuth options set.
type oauthConfig struct {
	clientID, secret string
	lifetime         time.Duration
	approve          Install
}

// WithOAuth turns on the OAuth server of an app with these credentials:
// GET /oauth/chooselocation approves at once (see [WithApprovedInstall])
// and redirects with a code, POST /oauth/token redeems codes and refresh
// tokens, and POST /oauth/locationToken mints location tokens from a
// Company token. Upserts then need a live access token issued for their
// location, [Server.Token] no longer works, and a refresh token redeemed
// twice revokes its install (see the package documentation).
func WithOAuth(clientID, clientSecret string) Option {
	return func(c *config) error {
		if !validWord(clientID) || !validWord(clientSecret) {
			return errors.New("leadwaytest: OAuth client ID and secret must be non-empty, without white space or control characters")
		}
		c.oauth.clientID, c.oauth.secret = clientID, clientSecret
		return nil
	}
}

// WithTokenLifetime sets how long the access tokens of [WithOAuth] live,
// at least a second; expires_in announces it in whole seconds. Default:
// [DefaultTokenLifetime].
func WithTokenLifetime(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("leadwaytest: token lifetime %s: must be at least 1s", d)
		}
		c.oauth.lifetime = d
		return nil
	}
}

// WithApprovedInstall sets what GET /oauth/chooselocation approves.
// Default: a Location install of location "loc-1" in company "company-1".
func WithApprovedInstall(in Install) Option {
	return func(c *config) error {
		in, err := in.check()
		if err != nil {
			return err
		}
		c.oauth.approve = in
		return nil
	}
}

func validWord(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// oauthServer is the fake's OAuth state; its own mutex guards it.
type oauthServer struct {
	cfg oauthConfig
	now func() time.Time
	api http.Handler // validation, then the OAuth handlers

	mu       sync.Mutex
	codes    map[string]*fakeCode
	installs []*fakeInstall
	access   map[string]*fakeAccess
	refresh  map[string]*fakeRefresh
	issued   int // access tokens issued since the last sweep
	stats    OAuthStats
	faults   []pendingFault
	failFor  Fault     // the fault of FailTokenRequestsFor
	failTill time.Time // until when it applies
}

// fakeCode is an authorization code, redeemable once.
type fakeCode struct {
	in          Install
	scope       string
	redirectURI string
	expires     time.Time
	install     *fakeInstall // set once redeemed
}

// fakeInstall is one authorization: every token issued from it.
type fakeInstall struct {
	in      Install
	scope   string
	revoked bool
}

// fakeAccess is an access token: for a location, or a Company token.
type fakeAccess struct {
	install  *fakeInstall
	location string // "" for a Company token
	expires  time.Time
}

// fakeRefresh is a refresh token; used marks it spent.
type fakeRefresh struct {
	install *fakeInstall
	used    bool
}

// codeLifetime is how long an authorization code may wait to be redeemed.
const codeLifetime = 10 * time.Minute

// AuthorizationCode returns an authorization code for in, as
// GET /oauth/chooselocation would after the user approved, for tests that
// skip the browser. It grants the scopes "opportunities.write oauth.write"
// and was issued for no redirect URI. It panics without [WithOAuth] or for
// an install [Install] rules out.
func (s *Server) AuthorizationCode(in Install) string {
	if s.oauth == nil {
		panic("leadwaytest: AuthorizationCode needs WithOAuth")
	}
	in, err := in.check()
	if err != nil {
		panic(err)
	}
	return s.oauth.newCode(in, defaultScope, "")
}

func (o *oauthServer) newCode(in Install, scope, redirectURI string) string {
	code := "code-" + randomHex(12)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code] = &fakeCode{in: in, scope: scope, redirectURI: redirectURI, expires: o.now().Add(codeLifetime)}
	return code
}

// OAuthStats returns the OAuth counts so far; zero without [WithOAuth].
func (s *Server) OAuthStats() OAuthStats {
	if s.oauth == nil {
		return OAuthStats{}
	}
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	return s.oauth.stats
}

// tokenRefusal is why an upsert's token was refused, in the words of the
// 401 answer.
type tokenRefusal string

func (r tokenRefusal) Error() string { return string(r) }

// authorizeUpsert checks an upsert's bearer token: a live access token
// issued for the body's location, with the opportunities.write scope.
func (o *oauthServer) authorizeUpsert(token, location string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.live(token)
	switch {
	case a == nil:
		return tokenRefusal("Invalid token")
	case a.location == "":
		return tokenRefusal("This route is not supported by the Company access token; use a location token")
	case a.location != location:
		return tokenRefusal("The token is not authorized for this location.")
	case !hasScope(a.install.scope, "opportunities.write"):
		return tokenRefusal("The token is not authorized for this scope.")
	}
	return nil
}

// live returns the access token's record while it works. The caller holds
// o.mu.
func (o *oauthServer) live(token string) *fakeAccess {
	a := o.access[token]
	if a == nil || a.install.revoked || !o.now().Before(a.expires) {
		return nil
	}
	return a
}

func hasScope(scope, want string) bool { return slices.Contains(strings.Fields(scope), want) }

// sameSecret compares secrets in constant time.
func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// randomHex returns n random bytes in hex, for tokens and codes no test can
// guess.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// cutBearer returns the token of an Authorization value "Bearer <token>".
func cutBearer(h string) (scheme, token string, ok bool) {
	scheme, token, ok = strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", "", false
	}
	return scheme, token, true
}

// locationKey carries an upsert's location to the token check.
type locationKey struct{}
