package oauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// usable returns in when it needs no refresh, else refreshes it under the
// store's lock.
func (m *Manager) usable(ctx context.Context, key string, in *Install, refused string) (*Install, error) {
	if m.fresh(in, refused) {
		return in, nil
	}
	return m.underLock(ctx, key, in, refused, func(ctx context.Context, lease Lease, cur *Install) (*Install, error) {
		if cur == nil {
			return nil, fmt.Errorf("oauth: install %s was deleted: %w", key, ErrNotFound)
		}
		return m.refreshLocked(ctx, key, lease, cur, refused)
	})
}

// underLock runs work under key's lock, on what the store holds once the
// lock is taken, unless that is fresh already: another process may have
// done the work meanwhile. While another process holds the lock, a caller
// whose token still works goes on with it; the others look again every
// pollWait until the store holds a fresh one or the lock is free.
func (m *Manager) underLock(ctx context.Context, key string, seen *Install, refused string, work func(context.Context, Lease, *Install) (*Install, error)) (*Install, error) {
	for {
		lease, err := m.store.Lock(ctx, key, m.opts.lease)
		if errors.Is(err, ErrLocked) {
			if seen != nil && m.valid(seen, refused) {
				return seen, nil
			}
			m.opts.logger.Debug("oauth: waiting for another process's refresh", "key", key)
			if err := sleep(ctx, m.pollWait(seen)); err != nil {
				return nil, fmt.Errorf("oauth: waiting for another process to refresh %s: %w", key, err)
			}
			cur, err := m.get(ctx, key)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			if cur != nil && m.fresh(cur, refused) {
				return cur, nil
			}
			seen = cur
			continue
		}
		if err != nil {
			return nil, &StoreError{Op: "lock", Key: key, Err: err}
		}
		in, err := m.locked(ctx, key, lease, refused, work)
		if errors.Is(err, ErrLockLost) && ctx.Err() == nil {
			m.opts.logger.Warn("oauth: the refresh lock ran out before anything was redeemed; starting over", "key", key)
			continue
		}
		return in, err
	}
}

// locked is the part of underLock that holds the lock: read again, and
// work only if what is stored is still due.
func (m *Manager) locked(ctx context.Context, key string, lease Lease, refused string, work func(context.Context, Lease, *Install) (*Install, error)) (*Install, error) {
	held := &heldLease{Lease: lease}
	defer func() {
		if !held.kept.Load() {
			m.release(key, lease)
		}
	}()
	cur, err := m.get(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if cur != nil && m.fresh(cur, refused) {
		return cur, nil
	}
	return work(ctx, held, cur)
}

// heldLease is the lease of a lock this process holds; kept says it was
// handed to saveLater, which releases it.
type heldLease struct {
	Lease
	kept atomic.Bool
}

// release frees the lock even when ctx has ended, so that other processes
// need not wait for the lease.
func (m *Manager) release(key string, lease Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), m.attemptTimeout())
	defer cancel()
	if err := lease.Release(ctx); err != nil {
		m.opts.logger.Warn("oauth: releasing the refresh lock failed; it frees itself when its lease runs out", "key", key, "err", err)
	}
}

// refreshLocked redeems cur's refresh token and saves the new pair; the
// caller holds the lock and has just read cur.
func (m *Manager) refreshLocked(ctx context.Context, key string, lease Lease, cur *Install, refused string) (*Install, error) {
	if refused != "" && cur.AccessToken == refused && !m.mayForce(key, cur) {
		// A refusal just forced a refresh: the new token is refused too,
		// so another refresh would not help. The call fails with its 401.
		return cur, nil
	}
	if cur.RefreshToken == "" {
		return nil, fmt.Errorf("oauth: the stored install %s has no refresh token", key)
	}
	form := m.clientForm("refresh_token")
	form.Set("refresh_token", cur.RefreshToken)
	form.Set("user_type", string(cur.UserType))
	c := &call{op: "refresh", who: cur.describe(), key: key, path: "/oauth/token", form: form,
		secrets: []string{m.cfg.ClientSecret, cur.RefreshToken, cur.AccessToken}}
	out, err := m.withRetries(ctx, lease, c, func(ctx context.Context) (*Install, error) {
		return m.redeem(ctx, c, cur)
	})
	if err != nil {
		return nil, err
	}
	// Until it is saved, the new refresh token exists only here: nothing
	// else happens first.
	m.save(ctx, key, lease, out, false)
	m.report(out.RefreshToken)
	m.opts.logger.Debug("oauth: refreshed", "install", out)
	return out, nil
}

// mayForce reports whether a refusal may force a refresh of key now: at
// most one per quarter of the token's lifetime (at most a minute), so that
// an API refusing every token cannot make every call redeem.
func (m *Manager) mayForce(key string, cur *Install) bool {
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	now := time.Now()
	if now.Sub(m.forcedAt[key]) < min(cur.lifetime()/4, time.Minute) {
		return false
	}
	m.forcedAt[key] = now
	return true
}

// maxSaveAttempts bounds the tries to save a refreshed install before the
// call goes on and saveLater takes over.
const maxSaveAttempts = 5

// maxSaveLater bounds how long saveLater holds the lock.
const maxSaveLater = 10 * time.Minute

// save stores a refreshed install, trying again while the lock is held.
// When the store keeps refusing, the new pair stays in this process's
// memory (see get), the failure is logged, and saveLater keeps the lock
// and tries again: until the pair is saved, no other process may redeem
// the refresh token it replaced. A minted token is no secret to guard that
// way: minted says so.
func (m *Manager) save(ctx context.Context, key string, lease Lease, in *Install, minted bool) {
	var err error
	for n := 1; n <= maxSaveAttempts; n++ {
		if err = m.store.Put(ctx, key, in); err == nil {
			return
		}
		if n == maxSaveAttempts || sleep(ctx, m.retryWait(n)) != nil {
			break
		}
		_ = lease.Extend(ctx)
	}
	if minted {
		m.opts.logger.Warn("oauth: the store refused a minted location token; the next lookup mints another", "key", key, "err", err)
		return
	}
	m.unsavedMu.Lock()
	m.unsaved[key] = in.clone()
	m.unsavedMu.Unlock()
	m.opts.logger.Error("oauth: the store refused the refreshed install; this process keeps it, holds the lock and tries again",
		"key", key, "err", err)
	if held, ok := lease.(*heldLease); ok && held.kept.CompareAndSwap(false, true) {
		go m.saveLater(key, held.Lease, in.clone())
	}
}

// saveLater tries to save in every third of the lease, renewing the lease
// meanwhile, until it is saved, the lease is lost, or maxSaveLater passes;
// then it releases the lock.
func (m *Manager) saveLater(key string, lease Lease, in *Install) {
	defer m.release(key, lease)
	ctx := context.Background()
	for end := time.Now().Add(maxSaveLater); time.Now().Before(end); {
		_ = sleep(ctx, m.opts.lease/3)
		pctx, cancel := context.WithTimeout(ctx, m.attemptTimeout())
		err := m.store.Put(pctx, key, in)
		cancel()
		if err == nil {
			m.unsavedMu.Lock()
			if p := m.unsaved[key]; p != nil && p.RefreshToken == in.RefreshToken {
				delete(m.unsaved, key)
			}
			m.unsavedMu.Unlock()
			m.opts.logger.Info("oauth: saved the refreshed install the store had refused", "key", key)
			return
		}
		ectx, cancel := context.WithTimeout(ctx, m.attemptTimeout())
		err = lease.Extend(ectx)
		cancel()
		if errors.Is(err, ErrLockLost) {
			m.opts.logger.Error("oauth: the refresh lock ran out before the refreshed install could be saved; another process may redeem the spent refresh token", "key", key)
			return
		}
	}
	m.opts.logger.Error("oauth: gave up saving the refreshed install; this process keeps it until it exits", "key", key)
}

// withRetries runs attempt until it succeeds or fails for good. A network
// failure, a 5xx or a 429 is retried with backoff until ctx ends. Under a
// lease, each attempt first renews it and then lasts at most half of it,
// so that no attempt outlives the lock.
func (m *Manager) withRetries(ctx context.Context, lease Lease, c *call, attempt func(context.Context) (*Install, error)) (*Install, error) {
	for n := 1; ; n++ {
		if lease != nil {
			if err := lease.Extend(ctx); err != nil {
				if errors.Is(err, ErrLockLost) {
					return nil, err
				}
				return nil, &StoreError{Op: "lock", Key: c.key, Err: err}
			}
		}
		actx, cancel := context.WithTimeout(ctx, m.attemptTimeout())
		in, err := attempt(actx)
		cancel()
		if err == nil {
			return in, nil
		}
		var te *TokenError
		if !errors.As(err, &te) {
			return nil, err
		}
		te.Attempts = n
		if !te.Temporary || ctx.Err() != nil {
			return nil, te
		}
		wait := m.retryWait(n)
		m.opts.logger.Warn("oauth: token endpoint unavailable; retrying", "op", c.op, "install", c.who,
			"status", te.StatusCode, "attempt", n, "wait", wait)
		if sleep(ctx, wait) != nil {
			return nil, te
		}
	}
}

// attemptTimeout bounds one request: the token timeout, and half the lease.
func (m *Manager) attemptTimeout() time.Duration {
	return min(m.opts.tokenTimeout, m.opts.lease/2)
}

// retryWait is the backoff before attempt n+1: from 200ms, doubling, at
// most 5s or a quarter of the lease, with jitter.
func (m *Manager) retryWait(n int) time.Duration {
	most := min(5*time.Second, m.opts.lease/4)
	d := most
	if n < 16 {
		d = min(200*time.Millisecond<<(n-1), most)
	}
	return jitter(d)
}

// jitter spreads d over its upper half, so that processes do not move in
// step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
