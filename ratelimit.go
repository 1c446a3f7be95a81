package leadway

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Vendor defaults for the burst budget, used until a response announces the
// app's own figures.
const (
	defaultBurstMax      = 100
	defaultBurstInterval = 10 * time.Second
)

// MaxBurstFigure bounds the burst figures a response may announce
// (X-RateLimit-Max and X-RateLimit-Remaining): a larger one is read as
// absent (-1). The vendor's budget is 100 per 10 seconds; a million per
// window leaves room for any plan while a broken proxy or a hostile host
// cannot make a limiter book a figure nobody could send.
const MaxBurstFigure = 1_000_000

// RateLimit holds the figures of the X-RateLimit-* headers of one response.
// A figure the response did not carry, or carried in a form that is not a
// non-negative integer, is -1, and so is a burst figure over
// [MaxBurstFigure]; Remaining is at most Max. The zero RateLimit means no
// response was read.
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
	// RetryAfter is Retry-After-Ms or Retry-After: how long the server asks
	// callers to wait, -1 when it sent neither. A limiter uses it to know
	// when a spent daily budget may be probed again.
	RetryAfter time.Duration
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
		RetryAfter:     -1,
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
	if d, ok := retryAfter(h, time.Now()); ok {
		rl.RetryAfter = d
	}
	return rl.bounded()
}

// bounded returns rl with burst figures over MaxBurstFigure read as absent,
// and Remaining no more than Max: limiters apply it to figures from any
// source, not only the client's own parsing.
func (rl RateLimit) bounded() RateLimit {
	if rl.Max > MaxBurstFigure {
		rl.Max = -1
	}
	if rl.Remaining > MaxBurstFigure {
		rl.Remaining = -1
	}
	if rl.Max >= 0 && rl.Remaining > rl.Max {
		rl.Remaining = rl.Max
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

// retryAfter reads Retry-After-Ms, or else Retry-After (seconds or an HTTP
// date). Both are read alike: a number too large for a Duration, +Inf
// included, is the longest wait; a negative number, NaN or garbage is no
// answer. It reports false when neither header is usable.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := waitValue(h.Get("Retry-After-Ms"), time.Millisecond); ok {
		return d, true
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if d, ok := waitValue(v, time.Second); ok {
		return d, true
	}
	if v == "" {
		return 0, false
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// waitValue reads a number of units as a Duration, without overflowing.
func waitValue(v string, unit time.Duration) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	// Out of range means +-Inf (or a value rounded to 0), not garbage.
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(n) || n < 0 {
		return 0, false
	}
	f := n * float64(unit)
	if f >= math.MaxInt64 { // 2^63 as a float64
		return math.MaxInt64, true
	}
	return time.Duration(f), true
}
