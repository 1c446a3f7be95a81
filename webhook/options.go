package webhook

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Defaults of the options below.
const (
	// DefaultMaxAge is how old a delivery's timestamp may be: it bounds how
	// long a captured body can be replayed.
	DefaultMaxAge = 5 * time.Minute
	// DefaultMaxSkew is how far ahead of the receiver's clock a timestamp
	// may be, for clocks that disagree a little.
	DefaultMaxSkew = time.Minute
	// DefaultMaxBodyBytes caps a delivery's body. Opportunity events are
	// well under 1 KiB; the cap leaves room for the larger types HighLevel
	// sends.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultRedeliveryHorizon is how long after its timestamp the
	// redelivery of an event answered 429 is accepted. HighLevel delivers
	// it again up to 6 times, 10 minutes apart plus a jitter, all with the
	// first body and timestamp: the last comes some 60 to 70 minutes after
	// the first. The horizon leaves room for that jitter and for queues.
	DefaultRedeliveryHorizon = 90 * time.Minute
)

// Bounds on the options, so that a typo cannot make a receiver remember ids
// for weeks or read bodies of any size.
const (
	maxMaxAge  = 24 * time.Hour
	maxHorizon = 24 * time.Hour
	maxMaxSkew = time.Hour
	maxKeys    = 8
)

// An Option configures [NewHandler]. Options check their input, and
// NewHandler returns the first one's error.
type Option func(*config) error

type config struct {
	keys     []ed25519.PublicKey
	maxAge   time.Duration
	maxSkew  time.Duration
	horizon  time.Duration
	maxBody  int64
	now      func() time.Time
	seen     SeenStore
	errorsTo func(*http.Request, *DeliveryError)
}

func defaultConfig() config {
	return config{
		keys:    []ed25519.PublicKey{DefaultPublicKey},
		maxAge:  DefaultMaxAge,
		maxSkew: DefaultMaxSkew,
		horizon: DefaultRedeliveryHorizon,
		maxBody: DefaultMaxBodyBytes,
		now:     time.Now,
	}
}

// WithPublicKey sets the keys deliveries are verified with, replacing
// [DefaultPublicKey]: a delivery is accepted when any of them verifies it,
// so that during a rotation both the old key and the new one are accepted.
// Each must be a 32-byte Ed25519 key (see [ParsePublicKey]); at most 8.
// Default: DefaultPublicKey, HighLevel's published key.
func WithPublicKey(keys ...ed25519.PublicKey) Option {
	return func(c *config) error {
		if len(keys) == 0 {
			return errors.New("webhook: WithPublicKey: no key given")
		}
		if len(keys) > maxKeys {
			return fmt.Errorf("webhook: WithPublicKey: %d keys, at most %d", len(keys), maxKeys)
		}
		c.keys = make([]ed25519.PublicKey, len(keys))
		for i, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				return fmt.Errorf("webhook: WithPublicKey: key %d is %d bytes, not a %d-byte Ed25519 public key", i, len(k), ed25519.PublicKeySize)
			}
			c.keys[i] = bytes.Clone(k) // the caller may reuse its slice
		}
		return nil
	}
}

// WithMaxAge sets how old a delivery's timestamp may be before it is
// refused as stale (401), between 1s and 24h. The seen store keeps each id
// this long plus the skew, so a copy is dropped as a duplicate for as long
// as it could be accepted. Redeliveries of an event answered 429 are older
// than that and pass by the horizon instead ([WithRedeliveryHorizon]).
// Default: [DefaultMaxAge].
func WithMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second || d > maxMaxAge {
			return fmt.Errorf("webhook: WithMaxAge %s: must be between 1s and %s", d, maxMaxAge)
		}
		c.maxAge = d
		return nil
	}
}

// WithRedeliveryHorizon sets how long after its timestamp the redelivery of
// an event this handler answered 429 is accepted, between 0 and 24h. Only
// the ids of failed attempts are awaited that long; any other delivery
// older than the max age is refused as stale, so the horizon does not
// widen the window for replays of processed events. 0 (or a horizon under
// the max age) accepts no late redelivery. Default:
// [DefaultRedeliveryHorizon].
func WithRedeliveryHorizon(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > maxHorizon {
			return fmt.Errorf("webhook: WithRedeliveryHorizon %s: must be between 0 and %s", d, maxHorizon)
		}
		c.horizon = d
		return nil
	}
}

// WithMaxSkew sets how far ahead of the clock a timestamp may be, between 0
// and 1h. Default: [DefaultMaxSkew].
func WithMaxSkew(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > maxMaxSkew {
			return fmt.Errorf("webhook: WithMaxSkew %s: must be between 0 and %s", d, maxMaxSkew)
		}
		c.maxSkew = d
		return nil
	}
}

// WithMaxBodyBytes caps a delivery's body; a larger one is answered 413
// without being read past the cap. Default: [DefaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("webhook: WithMaxBodyBytes %d: must be positive", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithClock sets the clock timestamps are checked against, and that the
// default seen store expires ids by, so that tests can pin time. It must
// be safe for concurrent use. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("webhook: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithSeen sets the store of delivery ids, for example one shared by every
// replica of a service (package github.com/leadwaycrm/leadway/redisseen).
// Default: a [MemoryStore] of [DefaultSeenLimit] ids, on the handler's clock.
func WithSeen(store SeenStore) Option {
	return func(c *config) error {
		if store == nil {
			return errors.New("webhook: WithSeen: nil store")
		}
		c.seen = store
		return nil
	}
}

// WithErrorFunc sets a function told of every delivery not answered 200,
// and of a 200 with a problem, for logs and metrics. It runs before the
// answer is written, so it should return quickly. Default: none; the
// answers alone say what happened.
func WithErrorFunc(f func(r *http.Request, err *DeliveryError)) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("webhook: WithErrorFunc: nil function")
		}
		c.errorsTo = f
		return nil
	}
}
