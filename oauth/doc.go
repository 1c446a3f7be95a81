// Package oauth keeps the OAuth installs of a HighLevel (LeadConnector)
// Marketplace app and hands out live access tokens per location, safely
// shared by every process of a fleet.
//
//	cfg := &oauth.Config{ClientID: id, ClientSecret: secret, RedirectURL: "https://app.example.com/oauth/callback"}
//	mgr, err := oauth.NewManager(cfg, redisstore.New(rdb))
//	// In the redirect handler, after checking the state:
//	in, err := mgr.Exchange(ctx, r.URL.Query().Get("code"))
//	// Anywhere, in any process:
//	client, err := leadway.NewFromLocationTokens(mgr)
//
// # Installs
//
// A user installs the app at [Config.AuthCodeURL]; the Marketplace sends
// them back to RedirectURL with a code, and [Manager.Exchange] redeems it
// and stores the [Install] in a [Store]. A Location install grants one
// location (sub-account). A Company (agency) install grants the locations
// it approved: [Manager.LocationToken] mints their tokens through
// POST /oauth/locationToken with the Company token, and stores them too,
// so that a fleet mints one per location per lifetime rather than one per
// process. [Manager.Installs] lists the installs; [Manager.Delete] removes
// one.
//
// # Refresh
//
// Access tokens live a day; each refresh answers a new refresh token and
// spends the old one. Two processes that redeem the same refresh token
// lose the install: the second gets invalid_grant, and a server that
// detects reuse revokes the new pair as well. So a refresh goes:
//
//  1. In one process, a single flight: the callers that need the token
//     meanwhile wait for one lookup.
//  2. Take the store's lock of the install, with a lease.
//  3. Read the install again: another process may have refreshed it.
//  4. Redeem the refresh token (POST /oauth/token), renewing the lease
//     before each attempt and bounding each attempt to half of it.
//  5. Save the new pair before anything else, and release the lock.
//
// A token is refreshed ahead of its expiry by a margin, a share of its
// lifetime capped at a duration (by default a fifth, at most five minutes:
// see [WithRefreshMargin]), so a short-lived token is not refreshed on
// every call. Until the margin, calls use the token cached in memory, with
// no store round trip. Within the margin, callers keep using the old token
// while one process refreshes, and wait only once it has expired. A token
// the API refused (a 401) is refreshed at once, at most once per quarter
// of its lifetime.
//
// # What a crash costs
//
// A process that dies holding the lock blocks the install's refresh until
// the lease runs out ([WithLockLease], 30 seconds by default); the others
// keep using the current token meanwhile, wait if it expires, then one of
// them takes the lock and refreshes. If the process died before its
// request reached the token endpoint, or while the endpoint held it
// unanswered, nothing was spent and nothing is lost.
//
// One window cannot be closed from the client: after the token endpoint
// has spent the old refresh token and before the new pair is saved, the
// new pair exists only in the answer on its way and in the memory of one
// process. The manager keeps that window to the answer's trip back plus
// one store write: the answer is checked in memory and written at once,
// before any logging or other I/O. A process killed inside it, or an
// answer lost to a network failure, loses the install: the next refresh
// fails with [ErrReauthorize] and the user must reconnect the app. A store
// that refuses the save does not lose it: the process keeps the pair, logs
// an error, and keeps the lock, renewing it, while it tries the save again,
// so that no other process redeems the spent refresh token. While the store
// fails, calls go on with the token a process has cached, as long as it
// works.
//
// # Errors
//
// A refresh token the endpoint refuses (invalid_grant) is a [*TokenError]
// matching [ErrReauthorize], naming the location or company to reconnect.
// A network failure, a 5xx or a 429 is retried with backoff for up to
// [WithRefreshTimeout] and never matches ErrReauthorize: an outage is not
// a revocation. A store that fails is a [*StoreError]; without the lock,
// nothing is redeemed. A location no install covers is a
// [*NoInstallError] that lists the installs there are.
//
// # Secrets
//
// No error and no log line of this package contains an access token, a
// refresh token, an authorization code or the client secret; what the
// endpoint echoes is redacted. [Install] prints without its tokens.
// [Manager.ReportSecrets] tells a client (package leadway) every secret
// the manager holds, so that the client's logs hide them too.
//
// This package uses golang.org/x/oauth2's Token and RetrieveError and its
// AuthCodeURL; it writes the token requests itself because x/oauth2 can
// neither send HighLevel's user_type on a refresh nor say when a refresh
// rotated the refresh token, which the store must learn at once.
package oauth
