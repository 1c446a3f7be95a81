package leadwaytest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeapi"
)

const day = 24 * time.Hour

// WindowModel is how the fake counts a location's burst budget. The vendor
// documents "100 requests per 10 seconds" without saying which it means,
// so a client that must never draw a 429 should pass against both.
type WindowModel int

const (
	// FixedWindow counts requests in consecutive windows: a window starts
	// with the first request after the previous one ended (never at a
	// wall-clock boundary, so tests are not at the mercy of when they run)
	// and admits max requests. A burst at the end of one window and another
	// at the start of the next both pass. The default.
	FixedWindow WindowModel = iota
	// SlidingWindow admits a request when fewer than max were admitted in
	// the interval before it, so no window of that length at any alignment
	// holds more than max. The stricter model.
	SlidingWindow
)

// String returns "fixed" or "sliding", the names leadway fake's --window
// flag takes.
func (m WindowModel) String() string {
	switch m {
	case FixedWindow:
		return "fixed"
	case SlidingWindow:
		return "sliding"
	}
	return "WindowModel(" + strconv.Itoa(int(m)) + ")"
}

// ParseWindowModel reads "fixed" or "sliding".
func ParseWindowModel(s string) (WindowModel, error) {
	switch s {
	case "fixed":
		return FixedWindow, nil
	case "sliding":
		return SlidingWindow, nil
	}
	return 0, fmt.Errorf("leadwaytest: window model %q: want fixed or sliding", s)
}

// budget keeps the rate budgets of every location. The Server's mutex
// guards it.
type budget struct {
	max      int
	interval time.Duration
	daily    int
	model    WindowModel
	windows  map[string]*window
}

// window is one location's use of its budgets.
type window struct {
	start    time.Time // FixedWindow: when the current window began
	used     int       // FixedWindow: requests admitted in it
	admitted []time.Time
	dayStart time.Time
	dayUsed  int
}

// quota is what the X-RateLimit-* headers announce.
type quota struct {
	max, remaining, intervalMS, daily, dailyRemaining int
}

func newBudget(max int, interval time.Duration, daily int, model WindowModel) budget {
	return budget{max: max, interval: interval, daily: daily, model: model, windows: make(map[string]*window)}
}

// take charges one request to key's budgets, when both have room, and
// reports the figures after it and whether the request may proceed.
func (b *budget) take(key string, now time.Time) (quota, bool) {
	w := b.windows[key]
	if w == nil {
		w = &window{start: now, dayStart: now}
		b.windows[key] = w
	}
	if now.Sub(w.dayStart) >= day {
		w.dayStart, w.dayUsed = now, 0
	}
	switch b.model {
	case SlidingWindow:
		// admitted holds the admission times of the last interval, oldest
		// first, at most max of them.
		i := 0
		for i < len(w.admitted) && now.Sub(w.admitted[i]) >= b.interval {
			i++
		}
		w.admitted = append(w.admitted[:0], w.admitted[i:]...)
		w.used = len(w.admitted)
	default:
		if now.Sub(w.start) >= b.interval {
			w.start, w.used = now, 0
		}
	}
	allowed := w.used < b.max && w.dayUsed < b.daily
	if allowed {
		w.used++
		w.dayUsed++
		if b.model == SlidingWindow {
			w.admitted = append(w.admitted, now)
		}
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
