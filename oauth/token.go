package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// LocationToken returns a live access token for locationID, from the
// location's own install or minted from a Company install that approves
// it; [NoInstallError] says when neither is stored. The token is shared:
// do not change it.
//
// In steady state it comes from memory, with no store round trip, until
// the refresh margin (see [WithRefreshMargin]). Then one call per process
// goes to the store, and one process refreshes or mints under the store's
// lock while the others keep using the old token, which is still valid,
// and pick up the new one from the store. Only a token that has expired, or
// that the API refused, makes callers wait; ctx bounds their wait, not the
// refresh, which goes on for the callers that come next.
func (m *Manager) LocationToken(ctx context.Context, locationID string) (*oauth2.Token, error) {
	m.cacheMu.RLock()
	e := m.cache[locationID]
	m.cacheMu.RUnlock()
	if e != nil && time.Now().Before(e.refreshAt) {
		return e.tok, nil
	}
	if locationID == "" || len(locationID) > maxIDLen || !validValue(locationID) {
		return nil, fmt.Errorf("oauth: location ID %q: must be 1 to %d bytes without white space", locationID, maxIDLen)
	}
	v, err := m.shared(ctx, "location:"+locationID, func(ctx context.Context) (any, error) {
		return m.resolve(ctx, locationID)
	})
	if err != nil {
		return m.despiteStore(locationID, e, err)
	}
	return v.(*entry).tok, nil
}

// despiteStore returns the cached token when the store failed but the
// token still works and was not refused: a store outage fails no call
// while the token lasts. Anything else returns err.
func (m *Manager) despiteStore(loc string, e *entry, err error) (*oauth2.Token, error) {
	var se *StoreError
	if e == nil || !errors.As(err, &se) || !time.Now().Before(e.validUntil) {
		return nil, err
	}
	m.cacheMu.RLock()
	refused := m.refused[loc] == e.tok.AccessToken
	m.cacheMu.RUnlock()
	if refused {
		return nil, err
	}
	m.opts.logger.Warn("oauth: the store failed; going on with the cached token while it lasts", "location", loc, "err", err)
	return e.tok, nil
}

// resolve finds the location's token in the store, refreshing or minting
// it when it is due, and caches it.
func (m *Manager) resolve(ctx context.Context, loc string) (*entry, error) {
	m.cacheMu.RLock()
	refused := m.refused[loc]
	m.cacheMu.RUnlock()
	key := LocationKey(loc)
	in, err := m.get(ctx, key)
	switch {
	case err == nil:
		in, err = m.usable(ctx, key, in, refused)
	case errors.Is(err, ErrNotFound):
		in, err = m.minted(ctx, loc, refused)
	}
	if err != nil {
		return nil, err
	}
	e := m.entryFor(in)
	m.cacheMu.Lock()
	m.cache[loc] = e
	if r, ok := m.refused[loc]; ok && r != in.AccessToken {
		delete(m.refused, loc)
	}
	m.cacheMu.Unlock()
	m.report(in.RefreshToken)
	return e, nil
}

// entryFor is how long calls may use in's token without looking again:
// until the refresh margin, or, inside it (another process is refreshing),
// a moment.
func (m *Manager) entryFor(in *Install) *entry {
	now := time.Now()
	at := in.Expiry.Add(-m.margin(in))
	if !now.Before(at) {
		at = now.Add(m.pollWait(in))
	}
	guard := min(m.margin(in)/4, 5*time.Second)
	return &entry{tok: in.Token(), refreshAt: at, validUntil: in.Expiry.Add(-guard)}
}

// margin is how long before expiry in is refreshed.
func (m *Manager) margin(in *Install) time.Duration {
	return min(time.Duration(m.opts.share*float64(in.lifetime())), m.opts.margin)
}

// fresh reports whether in needs no refresh yet.
func (m *Manager) fresh(in *Install, refused string) bool {
	return in.AccessToken != refused && time.Now().Before(in.Expiry.Add(-m.margin(in)))
}

// valid reports whether in's access token still works, with a guard for
// the time a call takes to reach the API.
func (m *Manager) valid(in *Install, refused string) bool {
	guard := min(m.margin(in)/4, 5*time.Second)
	return in.AccessToken != refused && time.Now().Before(in.Expiry.Add(-guard))
}

// pollWait is how long a process waits before looking again at an install
// another process is refreshing: a twentieth of the lease or of the
// token's lifetime, 10ms to 200ms.
func (m *Manager) pollWait(in *Install) time.Duration {
	d := m.opts.lease / 20
	if in != nil {
		d = min(d, in.lifetime()/20)
	}
	return jitter(min(max(d, 10*time.Millisecond), 200*time.Millisecond))
}

// flight is one slow-path lookup, shared by the callers of one process
// that need it meanwhile.
type flight struct {
	done chan struct{}
	val  any
	err  error
}

// shared runs fn once for the callers that ask for key meanwhile. It runs
// apart from ctx, bounded by the refresh timeout, so that a caller who
// gives up never cuts a redemption short: an answer lost midway would lose
// the install. Each caller waits as long as its ctx allows.
func (m *Manager) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", key, err)
	}
	m.flightMu.Lock()
	f, ok := m.flights[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		m.flights[key] = f
		go func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.refreshTimeout)
			f.val, f.err = fn(fctx)
			cancel()
			m.flightMu.Lock()
			delete(m.flights, key)
			m.flightMu.Unlock()
			close(f.done)
		}()
	}
	m.flightMu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("oauth: waiting for the token of %s: %w", key, ctx.Err())
	}
}

// get reads key from the store. An install this process refreshed but
// could not save comes first, and is saved again on the way.
func (m *Manager) get(ctx context.Context, key string) (*Install, error) {
	m.unsavedMu.Lock()
	pending := m.unsaved[key]
	m.unsavedMu.Unlock()
	if pending != nil {
		if err := m.store.Put(ctx, key, pending); err == nil {
			m.unsavedMu.Lock()
			if p := m.unsaved[key]; p != nil && p.RefreshToken == pending.RefreshToken {
				delete(m.unsaved, key)
			}
			m.unsavedMu.Unlock()
			m.opts.logger.Info("oauth: saved the refreshed install the store had refused", "key", key)
		}
		return pending.clone(), nil
	}
	in, err := m.store.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, &StoreError{Op: "read", Key: key, Err: err}
	case in == nil:
		return nil, &StoreError{Op: "read", Key: key, Err: errors.New("the store returned no install and no error")}
	case in.AccessToken == "" || !validValue(in.AccessToken) || in.Expiry.IsZero():
		return nil, &StoreError{Op: "read", Key: key, Err: errors.New("the stored install has no usable access token or expiry")}
	}
	return in, nil
}
