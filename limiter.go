package leadway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

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
