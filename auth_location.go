package leadway

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/oauth2"
)

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
