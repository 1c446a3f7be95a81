package leadway

import (
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
	if _, ok := h["Retry-After"]; ok || h.Get("Retry-After-Ms") != "" {
		if d, ok := retryAfter(h, time.Now()); ok {
			rl.RetryAfter = d
		}
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
