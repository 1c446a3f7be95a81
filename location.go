package leadway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/oauth2"
)

// LocationTokenSource hands out an access token per location, such as an
// OAuth manager that serves the sub-accounts of Location installs and of
// agency (Company) installs. *oauth.Manager (package
// github.com/leadwaycrm/leadway/oauth) implements it.
//
// LocationToken is called before every attempt with the call's context, so
// it must be cheap when the token is cached. The token returned must not be
// changed afterwards; the client keeps its header value while the source
// returns the same token.
type LocationTokenSource interface {
	LocationToken(ctx context.Context, locationID string) (*oauth2.Token, error)
}

// LocationTokenInvalidator is a [LocationTokenSource] that wants to hear
// that the API refused one of its tokens (a 401), so that its next
// LocationToken call for that location returns another token rather than
// the refused one. The client calls it before its one retry after a 401.
// Without it, the client asks again and retries only if the source hands
// out a different token.
type LocationTokenInvalidator interface {
	InvalidateLocationToken(locationID string, refused *oauth2.Token)
}

// SecretReporter is a token source that holds secrets it never hands out,
// such as OAuth refresh tokens and a client secret. A client built on it
// calls ReportSecrets once, and then hides every secret reported wherever
// it hides tokens: log lines, logged bodies and errors. The source calls
// report for each secret it holds and for each it learns later.
type SecretReporter interface {
	ReportSecrets(report func(secret string))
}

// NewFromLocationTokens returns a client that takes each call's token from
// src by the request's locationId, so that one client serves every
// location of an install, an agency's included:
//
//	mgr, err := oauth.NewManager(cfg, store)
//	client, err := leadway.NewFromLocationTokens(mgr)
//
// src is asked before every attempt; the client keeps the header value of
// each location's token while src returns the same one. After a 401 the
// client tells src which token was refused (see
// [LocationTokenInvalidator]), asks again and, when it gets a different
// token, retries once, outside the retry budget. A failure of src fails
// the call; it matches [ErrInvalidToken] only when a token endpoint refused
// the credentials. When src is a [SecretReporter], its secrets are
// redacted too.
func NewFromLocationTokens(src LocationTokenSource, opts ...Option) (*Client, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil location token source", ErrInvalidToken)
	}
	return newClient(&credentials{loc: &locationCreds{src: src, headers: map[string]locationHeader{}}, refreshable: true}, opts)
}

// locationCreds are the credentials of a client built on a
// LocationTokenSource.
type locationCreds struct {
	src     LocationTokenSource
	mu      sync.RWMutex
	headers map[string]locationHeader // by location: the last token handed out
}

// locationHeader is a token and its Authorization value, checked once.
type locationHeader struct {
	tok    *oauth2.Token
	header string
	values []string // header, as the request's values
}

// errNoLocation is a request that names no location, for a client whose
// tokens are per location.
var errNoLocation = errors.New("leadway: the request names no locationId, which a location token source needs to pick its token")

// locationHeader returns the Authorization value for the call's location.
func (c *credentials) locationHeader(ctx context.Context) (string, error) {
	v, err := c.locationValues(ctx)
	if err != nil {
		return "", err
	}
	return v[0], nil
}

// locationValues returns the Authorization values for the call's
// location: built and checked once per token the source hands out.
func (c *credentials) locationValues(ctx context.Context) ([]string, error) {
	loc := locationOf(ctx)
	if loc == "" {
		return nil, errNoLocation
	}
	t, err := c.loc.src.LocationToken(ctx, loc)
	if err != nil {
		return nil, &tokenSourceError{err}
	}
	c.loc.mu.RLock()
	h, ok := c.loc.headers[loc]
	c.loc.mu.RUnlock()
	if ok && (h.tok == t || t != nil && h.tok.AccessToken == t.AccessToken && h.tok.TokenType == t.TokenType) {
		return h.values, nil
	}
	header, err := c.use(t, nil)
	if err != nil {
		return nil, err
	}
	h = locationHeader{tok: t, header: header, values: []string{header}}
	c.loc.mu.Lock()
	c.loc.headers[loc] = h
	c.loc.mu.Unlock()
	return h.values, nil
}

// refused tells a location source that the API refused the header sent,
// before the client asks it again.
func (c *credentials) refused(ctx context.Context, header string) {
	if c.loc == nil {
		return
	}
	loc := locationOf(ctx)
	c.loc.mu.Lock()
	h, ok := c.loc.headers[loc]
	if ok && h.header == header {
		delete(c.loc.headers, loc)
	}
	c.loc.mu.Unlock()
	if inv, isInv := c.loc.src.(LocationTokenInvalidator); isInv && ok && h.header == header {
		inv.InvalidateLocationToken(loc, h.tok)
	}
}

// locationOf is the call's location, from the context the client set.
func locationOf(ctx context.Context) string {
	if c, ok := ctx.Value(callKey{}).(*callInfo); ok {
		return c.key
	}
	return ""
}
