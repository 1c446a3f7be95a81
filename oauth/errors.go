package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrReauthorize is matched (errors.Is) by a [*TokenError] whose refresh
// token or authorization code the token endpoint refused with
// invalid_grant: revoked, used twice, or expired. Only a new authorization
// helps: the user must reinstall or reconnect the app. An endpoint that is
// unreachable or failing never matches it: an outage is not a revocation.
var ErrReauthorize = errors.New("oauth: the app must be authorized again")

// ErrNotFound is what a [Store] returns for a key it does not hold.
var ErrNotFound = errors.New("oauth: not found in the store")

// ErrLocked is what [Store.Lock] returns at once when another holder has
// the lock; the manager waits and tries again.
var ErrLocked = errors.New("oauth: locked by another holder")

// ErrLockLost is what [Lease.Extend] returns when the lease ran out, so
// that another holder may have the lock. The manager then stops before
// redeeming anything and starts over.
var ErrLockLost = errors.New("oauth: the lock's lease ran out")

// TokenError is a failure of the token endpoint (POST /oauth/token) or of
// POST /oauth/locationToken: a refusal, an unusable answer, or an endpoint
// that stayed unreachable or failing through every retry (Temporary). Its
// message names the install and never contains a token, a code or the
// client secret.
type TokenError struct {
	// Op is what was attempted: "exchange" (a code), "refresh" or "mint" (a
	// location token).
	Op string
	// Install names the install, such as "location CLu7BaljjqrEjBGKTNNe" or
	// "company 5DP4iH6HLkQsiKESj6rh"; empty for an exchange.
	Install string
	// StatusCode is the HTTP status of the last answer; 0 when none came.
	StatusCode int
	// Code is the OAuth error code the endpoint sent, such as
	// "invalid_grant" or "invalid_client".
	Code string
	// Attempts is how many requests were sent.
	Attempts int
	// Temporary reports a network failure, a 5xx or a 429: the request may
	// succeed later, and the install is intact.
	Temporary bool
	// Err is the cause: an [*oauth2.RetrieveError] with secrets redacted
	// from its body, a network error, or what was wrong with the answer.
	Err error
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("oauth: ")
	if e.reauthorize() {
		if e.Op == "exchange" {
			b.WriteString("the authorization code was refused (invalid_grant: wrong, expired or used already): send the user through the authorization again")
		} else {
			fmt.Fprintf(&b, "%s must be authorized again: the token endpoint refused its refresh token (invalid_grant: revoked, used twice or expired); reinstall or reconnect the app for %s", e.Install, e.Install)
		}
		return b.String()
	}
	b.WriteString(e.Op)
	if e.Install != "" {
		b.WriteString(" for " + e.Install)
	}
	switch {
	case e.Temporary:
		b.WriteString(": endpoint unavailable")
	case e.StatusCode >= 400:
		b.WriteString(": refused")
	default:
		b.WriteString(": failed")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Err != nil && e.StatusCode < 300 {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *TokenError) reauthorize() bool { return e.Code == "invalid_grant" }

// Is reports whether target is [ErrReauthorize] for an invalid_grant.
func (e *TokenError) Is(target error) bool { return target == ErrReauthorize && e.reauthorize() }

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// NoInstallError is what [Manager.LocationToken] returns for a location
// that no stored install covers: it has no Location install, and no
// Company install approves it.
type NoInstallError struct {
	// LocationID is the location asked for.
	LocationID string
	// Installs are the keys of the installs the store holds.
	Installs []string
}

// maxListed bounds how many installs the message lists.
const maxListed = 10

func (e *NoInstallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oauth: no stored install covers location %s: ", e.LocationID)
	if len(e.Installs) == 0 {
		b.WriteString("the store holds no install; authorize the app first")
		return b.String()
	}
	list := e.Installs
	more := ""
	if len(list) > maxListed {
		more = fmt.Sprintf(" and %d more", len(list)-maxListed)
		list = list[:maxListed]
	}
	fmt.Fprintf(&b, "the store holds %s%s, and none is for this location or approves it; install the app for it, or approve it in the agency's install", strings.Join(list, ", "), more)
	return b.String()
}

// StoreError is a [Store] that failed. A refresh that cannot take the lock
// or read the install fails with it and redeems nothing: the refresh token
// is never redeemed without the lock, so it is never lost.
type StoreError struct {
	// Op is what failed, such as "lock", "read" or "save".
	Op string
	// Key is the store key involved.
	Key string
	// Err is the store's error.
	Err error
}

func (e *StoreError) Error() string {
	what := map[string]string{
		"lock": "taking the refresh lock of %s (nothing was redeemed)",
		"read": "reading %s",
		"save": "saving %s",
		"list": "listing the installs%.0s",
		"del":  "deleting %s",
	}[e.Op]
	if what == "" {
		what = e.Op + " %s"
	}
	return "oauth: store: " + fmt.Sprintf(what, e.Key) + ": " + e.Err.Error()
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
