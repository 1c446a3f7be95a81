package leadwaytest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway"
)

// Defaults of the options below: the vendor's documented budgets.
const (
	// DefaultAddr is where the fake listens by default: a free loopback port.
	DefaultAddr = "127.0.0.1:0"
	// DefaultRateMax is how many requests a location may make per window.
	DefaultRateMax = 100
	// DefaultRateInterval is the length of a rate window.
	DefaultRateInterval = 10 * time.Second
	// DefaultDailyLimit is how many requests a location may make per day.
	DefaultDailyLimit = 200_000
)

// An Option configures a [Server]. Options check their input: [Start]
// returns the first option's error and [NewServer] panics with it.
type Option func(*config) error

type config struct {
	addr     string
	token    string
	rateMax  int
	interval time.Duration
	daily    int
	window   WindowModel
	now      func() time.Time
	logger   *slog.Logger
	webhook  webhookConfig
	oauth    oauthConfig // set by WithOAuth, WithTokenLifetime and WithApprovedInstall
}

func defaultConfig() config {
	return config{
		addr:     DefaultAddr,
		rateMax:  DefaultRateMax,
		interval: DefaultRateInterval,
		daily:    DefaultDailyLimit,
		now:      time.Now,
		oauth:    oauthConfig{lifetime: DefaultTokenLifetime, approve: Install{UserType: "Location", LocationID: "loc-1", CompanyID: "company-1"}},
	}
}

// randomToken returns a fresh token, so that no test comes to depend on a
// well-known one.
func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails on supported platforms
	return "fake-" + hex.EncodeToString(b)
}

// WithAddr sets the address to listen on, such as "127.0.0.1:8080".
// Default: [DefaultAddr], a free port on loopback.
func WithAddr(addr string) Option {
	return func(c *config) error {
		if addr == "" {
			return errors.New("leadwaytest: empty listen address")
		}
		c.addr = addr
		return nil
	}
}

// WithToken sets the one token the fake accepts. Default: a random token,
// read it from [Server.Token].
func WithToken(token string) Option {
	return func(c *config) error {
		if token == "" || strings.TrimSpace(token) != token || strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return errors.New("leadwaytest: token must be non-empty, without surrounding space or control characters")
		}
		c.token = token
		return nil
	}
}

// WithRateLimit sets the burst budget of each location: max requests per
// window of interval, counted as [WithWindow] says. Tests of rate limiting use a small max and a
// long interval, so that the window never rolls over during the test.
// Default: [DefaultRateMax] per [DefaultRateInterval].
func WithRateLimit(max int, interval time.Duration) Option {
	return func(c *config) error {
		if max <= 0 || max > leadway.MaxBurstFigure {
			return fmt.Errorf("leadwaytest: rate limit max %d: must be between 1 and %d, the most a client believes", max, leadway.MaxBurstFigure)
		}
		if interval < time.Millisecond {
			return fmt.Errorf("leadwaytest: rate limit interval %s: must be at least 1ms", interval)
		}
		c.rateMax, c.interval = max, interval
		return nil
	}
}

// WithWindow sets how the burst budget of [WithRateLimit] is counted:
// [FixedWindow] (the default) or [SlidingWindow].
func WithWindow(m WindowModel) Option {
	return func(c *config) error {
		if m != FixedWindow && m != SlidingWindow {
			return fmt.Errorf("leadwaytest: unknown %s", m)
		}
		c.window = m
		return nil
	}
}

// WithDailyLimit sets how many requests each location may make per day,
// counted from its first request. Default: [DefaultDailyLimit].
func WithDailyLimit(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("leadwaytest: daily limit %d: must be positive", n)
		}
		c.daily = n
		return nil
	}
}

// WithClock sets the clock behind timestamps and rate windows, so that a
// test can move time forward instead of sleeping. It must be safe for
// concurrent use. Default: [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("leadwaytest: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithLogger logs every request at info level: method, path, location,
// status and whether a fault was injected. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("leadwaytest: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}
