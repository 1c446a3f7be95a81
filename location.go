package leadway

import (
	"context"
	"fmt"

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
