package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of the options below.
const (
	// DefaultRefreshShare is the share of a token's lifetime before its
	// expiry at which it is refreshed, up to DefaultRefreshMargin.
	DefaultRefreshShare = 0.2
	// DefaultRefreshMargin caps the refresh margin: a one-day token is
	// refreshed five minutes before it expires, a 2-second one 400ms before.
	DefaultRefreshMargin = 5 * time.Minute
	// DefaultLockLease is how long a refresh lock lasts unless its holder
	// renews it: how long a crashed holder blocks the install's refresh.
	DefaultLockLease = 30 * time.Second
	// DefaultTokenTimeout bounds one request to the token endpoint.
	DefaultTokenTimeout = 10 * time.Second
	// DefaultRefreshTimeout bounds one refresh, retries included.
	DefaultRefreshTimeout = time.Minute
)

// An Option configures a [Manager]. Options check their input: NewManager
// returns the first option's error.
type Option func(*options) error

type options struct {
	share          float64
	margin         time.Duration
	lease          time.Duration
	tokenTimeout   time.Duration
	refreshTimeout time.Duration
	userType       UserType
	logger         *slog.Logger
}

func defaultOptions() options {
	return options{
		share:          DefaultRefreshShare,
		margin:         DefaultRefreshMargin,
		lease:          DefaultLockLease,
		tokenTimeout:   DefaultTokenTimeout,
		refreshTimeout: DefaultRefreshTimeout,
		logger:         slog.New(slog.DiscardHandler),
	}
}

// WithRefreshMargin sets when a token is refreshed: share of its lifetime
// before it expires, but at most max before. Calls until then use the
// cached token without touching the store. Default: [DefaultRefreshShare]
// of the lifetime, at most [DefaultRefreshMargin].
func WithRefreshMargin(share float64, max time.Duration) Option {
	return func(o *options) error {
		if !(share > 0 && share < 1) {
			return fmt.Errorf("oauth: refresh share %v: must be above 0 and below 1", share)
		}
		if max <= 0 {
			return fmt.Errorf("oauth: refresh margin %s: must be positive", max)
		}
		o.share, o.margin = share, max
		return nil
	}
}

// WithLockLease sets the lease of the refresh lock. A holder renews it
// before each request to the token endpoint, and bounds each request to
// half of it, so that a lease never runs out while a live holder waits for
// an answer. A holder that dies blocks the install's refresh until its
// lease runs out. Default: [DefaultLockLease].
func WithLockLease(d time.Duration) Option {
	return func(o *options) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("oauth: lock lease %s: must be at least 100ms", d)
		}
		o.lease = d
		return nil
	}
}

// WithTokenTimeout bounds each request to the token endpoint (and to
// POST /oauth/locationToken); half the lock lease bounds it too. Default:
// [DefaultTokenTimeout].
func WithTokenTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("oauth: token timeout %s: must be positive", d)
		}
		o.tokenTimeout = d
		return nil
	}
}

// WithRefreshTimeout bounds one refresh or mint, retries included. A
// network failure, a 5xx or a 429 is retried with backoff until then.
// Callers stop waiting when their own context ends; the refresh goes on,
// shared by the callers that come next. Default: [DefaultRefreshTimeout].
func WithRefreshTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("oauth: refresh timeout %s: must be positive", d)
		}
		o.refreshTimeout = d
		return nil
	}
}

// WithUserType sends user_type with the code exchange, for apps whose
// Marketplace settings ask for it. Default: none; the answer's userType
// says what was installed.
func WithUserType(t UserType) Option {
	return func(o *options) error {
		if t != Location && t != Company {
			return fmt.Errorf("oauth: user type %q: must be Location or Company", t)
		}
		o.userType = t
		return nil
	}
}

// WithLogger logs refreshes, mints, waits for another process's refresh and
// retries, at debug and warn level. Lines name installs and never carry a
// token, a code or the client secret. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("oauth: nil *slog.Logger")
		}
		o.logger = l
		return nil
	}
}
