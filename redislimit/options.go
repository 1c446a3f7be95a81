package redislimit

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// An Option configures a [Limiter]. An invalid option does not panic: every
// Wait of the limiter returns an error naming it.
type Option func(*config) error

type config struct {
	prefix     string
	max        int
	interval   time.Duration
	margin     time.Duration
	share      float64
	timeout    time.Duration
	retryEvery time.Duration
	logger     *slog.Logger
}

// WithPrefix sets the prefix of every key, such as "leadway:<app id>:", so
// that apps sharing a Redis keep their own budgets. It must not contain a
// brace (see Keys in the package documentation). Default: [DefaultPrefix].
func WithPrefix(p string) Option {
	return func(c *config) error {
		if strings.ContainsAny(p, "{}") {
			return fmt.Errorf("redislimit: prefix %q: must not contain { or }, which Redis Cluster reads as a hash tag", p)
		}
		c.prefix = p
		return nil
	}
}

// WithBudget sets the budget the fleet shares per location: max requests
// per interval. Figures that responses announce can make it stricter, never
// looser. Default: the vendor's [DefaultMax] per [DefaultInterval].
func WithBudget(max int, interval time.Duration) Option {
	return func(c *config) error {
		if max <= 0 || interval <= 0 {
			return fmt.Errorf("redislimit: budget %d per %s: both must be positive", max, interval)
		}
		c.max, c.interval = max, interval
		return nil
	}
}

// WithSafetyMargin sets the pause added to each window, which covers the
// spread between a request leaving and the server counting it; raise it
// when processes reach the API over paths of very different latency.
// Default: [leadway.SafetyMargin] of the interval.
func WithSafetyMargin(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("redislimit: safety margin %s: must not be negative", d)
		}
		c.margin = d
		return nil
	}
}

// WithFallbackShare sets the share of the budget this process uses on its
// own while Redis is unreachable: 1/N for a fleet of N replicas keeps the
// fleet within the budget. Default: [DefaultFallbackShare].
func WithFallbackShare(share float64) Option {
	return func(c *config) error {
		if !(share > 0 && share <= 1) {
			return fmt.Errorf("redislimit: fallback share %v: must be above 0 and at most 1", share)
		}
		c.share = share
		return nil
	}
}

// WithTimeout bounds each call to Redis; a call that takes longer counts as
// Redis being unreachable. Default: [DefaultTimeout].
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redislimit: timeout %s: must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetryEvery sets how often a process on the fallback tries Redis
// again. Default: [DefaultRetryEvery].
func WithRetryEvery(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redislimit: retry interval %s: must be positive", d)
		}
		c.retryEvery = d
		return nil
	}
}

// WithLogger sets where the switches to and from the fallback are logged.
// Default: [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("redislimit: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}
