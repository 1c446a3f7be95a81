package leadwaytest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeapi"
)

const day = 24 * time.Hour

// budget keeps the fixed-window rate budgets of every location. The Server's
// mutex guards it.
type budget struct {
	max      int
	interval time.Duration
	daily    int
	windows  map[string]*window
}

// window is one location's use of its budgets. Each window starts with the
// first request after the previous one ended, never at a wall-clock boundary,
// so tests are not at the mercy of when they run.
type window struct {
	start    time.Time
	used     int
	dayStart time.Time
	dayUsed  int
}

// quota is what the X-RateLimit-* headers announce.
type quota struct {
	max, remaining, intervalMS, daily, dailyRemaining int
}

func newBudget(max int, interval time.Duration, daily int) budget {
	return budget{max: max, interval: interval, daily: daily, windows: make(map[string]*window)}
}

// take charges one request to key's budgets, when both have room, and
// reports the figures after it and whether the request may proceed.
func (b *budget) take(key string, now time.Time) (quota, bool) {
	w := b.windows[key]
	if w == nil {
		w = &window{start: now, dayStart: now}
		b.windows[key] = w
	}
	if now.Sub(w.start) >= b.interval {
		w.start, w.used = now, 0
	}
	if now.Sub(w.dayStart) >= day {
		w.dayStart, w.dayUsed = now, 0
	}
	allowed := w.used < b.max && w.dayUsed < b.daily
	if allowed {
		w.used++
		w.dayUsed++
	}
	return quota{
		max:            b.max,
		remaining:      b.max - w.used,
		intervalMS:     int(b.interval / time.Millisecond),
		daily:          b.daily,
		dailyRemaining: b.daily - w.dayUsed,
	}, allowed
}

// headers returns the figures in the generated response's header struct.
func (q quota) headers() fakeapi.UpsertOpportunity200ResponseHeaders {
	return fakeapi.UpsertOpportunity200ResponseHeaders{
		XRateLimitLimitDaily:           &q.daily,
		XRateLimitDailyRemaining:       &q.dailyRemaining,
		XRateLimitIntervalMilliseconds: &q.intervalMS,
		XRateLimitMax:                  &q.max,
		XRateLimitRemaining:            &q.remaining,
	}
}

// setHeaders puts the figures on any answer, including those the contract
// gives no headers, since the vendor sends them on every response.
func (q quota) setHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit-Daily", strconv.Itoa(q.daily))
	h.Set("X-RateLimit-Daily-Remaining", strconv.Itoa(q.dailyRemaining))
	h.Set("X-RateLimit-Interval-Milliseconds", strconv.Itoa(q.intervalMS))
	h.Set("X-RateLimit-Max", strconv.Itoa(q.max))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(q.remaining))
}
