package leadway

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Vendor defaults for the burst budget, used until a response announces the
// app's own figures.
const (
	defaultBurstMax      = 100
	defaultBurstInterval = 10 * time.Second
)

// RateLimit holds the figures of the X-RateLimit-* headers of one response.
// A figure the response did not carry, or carried in a form that is not a
// non-negative integer, is -1. The zero RateLimit means no response was read.
type RateLimit struct {
	// DailyLimit is X-RateLimit-Limit-Daily: requests allowed per day.
	DailyLimit int
	// DailyRemaining is X-RateLimit-Daily-Remaining: requests left today.
	DailyRemaining int
	// Interval is X-RateLimit-Interval-Milliseconds: the burst window.
	Interval time.Duration
	// Max is X-RateLimit-Max: requests allowed per burst window.
	Max int
	// Remaining is X-RateLimit-Remaining: requests left in this window.
	Remaining int
}

// DailyExhausted reports whether the response said no requests are left today.
func (r RateLimit) DailyExhausted() bool {
	return r.DailyRemaining == 0 && r.DailyLimit != 0
}

// The rate-limit headers in canonical form, so that reading them allocates
// nothing (http.Header.Get would canonicalize "X-RateLimit-..." every call).
const (
	headerDailyLimit     = "X-Ratelimit-Limit-Daily"
	headerDailyRemaining = "X-Ratelimit-Daily-Remaining"
	headerInterval       = "X-Ratelimit-Interval-Milliseconds"
	headerMax            = "X-Ratelimit-Max"
	headerRemaining      = "X-Ratelimit-Remaining"
)

func parseRateLimit(h http.Header) RateLimit {
	rl := RateLimit{
		DailyLimit:     headerInt(h, headerDailyLimit),
		DailyRemaining: headerInt(h, headerDailyRemaining),
		Interval:       -1,
		Max:            headerInt(h, headerMax),
		Remaining:      headerInt(h, headerRemaining),
	}
	// A window longer than a day is not a burst window; ignore it.
	if ms := headerInt(h, headerInterval); ms >= 0 && ms <= int(24*time.Hour/time.Millisecond) {
		rl.Interval = time.Duration(ms) * time.Millisecond
	}
	return rl
}

func headerInt(h http.Header, key string) int {
	vs := h[key]
	if len(vs) == 0 || vs[0] == "" {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds or an HTTP date).
// It reports false when neither is present and usable.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			return durationOf(ms / 1000), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || math.IsNaN(s) {
			return 0, false
		}
		return durationOf(s), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// durationOf converts seconds to a Duration without overflowing.
func durationOf(seconds float64) time.Duration {
	if seconds >= float64(math.MaxInt64/int64(time.Second)) || math.IsInf(seconds, 1) {
		return math.MaxInt64
	}
	return time.Duration(seconds * float64(time.Second))
}

// untilMidnightUTC estimates when a used-up daily budget returns.
func untilMidnightUTC(now time.Time) time.Duration {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Sub(now)
}

// Limiter keeps calls under a rate budget. The client calls Wait before every
// request and Observe after every response, with the request's location ID
// as key. Implement it to share one budget across replicas, for example
// through an external store.
type Limiter interface {
	// Wait blocks until a request for key may be sent, or ctx is done.
	Wait(ctx context.Context, key string) error
	// Observe passes on the figures a response for key announced.
	Observe(key string, rl RateLimit)
}

// NewLimiter returns the client's default [Limiter]: a token bucket per
// location, built on golang.org/x/time/rate. It starts at max requests per
// interval and adapts to the X-RateLimit-Max and
// X-RateLimit-Interval-Milliseconds figures responses announce (windows
// longer than a minute are ignored). The bucket
// holds a single token and refills at (max-1)/interval, so no window of that
// length ever sees more than max requests, whatever its alignment.
func NewLimiter(max int, interval time.Duration) Limiter {
	return &locationLimiter{max: max, interval: interval, buckets: make(map[string]*bucket)}
}

type locationLimiter struct {
	max      int
	interval time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim      *rate.Limiter
	max      int
	interval time.Duration
	// changed is closed when the budget changes, so that waiters cancel
	// the slots they booked at the old pace and queue again.
	changed chan struct{}
}

func (l *locationLimiter) bucket(key string) (*rate.Limiter, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key)
	return b.lim, b.changed
}

func (l *locationLimiter) bucketLocked(key string) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(pace(l.max, l.interval), 1), max: l.max, interval: l.interval, changed: make(chan struct{})}
		l.buckets[key] = b
	}
	return b
}

func (l *locationLimiter) Wait(ctx context.Context, key string) error {
	for {
		lim, changed := l.bucket(key)
		if lim.Allow() {
			return nil
		}
		r := lim.Reserve()
		d := r.Delay()
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			r.Cancel()
			return fmt.Errorf("the next slot, in %s, is past the context deadline: %w", d, context.DeadlineExceeded)
		}
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			timer.Stop()
			r.Cancel()
			return ctx.Err()
		case <-changed:
			timer.Stop()
			r.Cancel()
		}
	}
}

// maxAdaptedInterval bounds the burst window the limiter adopts from a
// response, so that a broken or hostile server cannot slow a client to one
// call a day.
const maxAdaptedInterval = time.Minute

func (l *locationLimiter) Observe(key string, rl RateLimit) {
	if rl.Max <= 0 || rl.Interval <= 0 || rl.Interval > maxAdaptedInterval {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key)
	if b.max == rl.Max && b.interval == rl.Interval {
		return
	}
	b.max, b.interval = rl.Max, rl.Interval
	// A new bucket, so that waiters queue afresh at the new pace (SetLimit
	// would keep their slots, booked at the old one). It holds a token only
	// if the old one did, so figures that flap cannot hand out extra calls.
	now := time.Now()
	lim := rate.NewLimiter(pace(rl.Max, rl.Interval), 1)
	if b.lim.TokensAt(now) < 1 {
		lim.AllowN(now, 1)
	}
	b.lim = lim
	close(b.changed)
	b.changed = make(chan struct{})
}

// pace is the refill rate that keeps any window of length interval at or
// under max requests with a bucket of one token.
func pace(max int, interval time.Duration) rate.Limit {
	if max <= 1 || interval <= 0 {
		return rate.Every(interval)
	}
	return rate.Limit(float64(max-1) / interval.Seconds())
}
