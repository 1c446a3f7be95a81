package leadway

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want RateLimit
	}{
		{"all", http.Header{
			"X-Ratelimit-Limit-Daily":           {"200000"},
			"X-Ratelimit-Daily-Remaining":       {"0"},
			"X-Ratelimit-Interval-Milliseconds": {"10000"},
			"X-Ratelimit-Max":                   {"100"},
			"X-Ratelimit-Remaining":             {" 42 "},
			"Retry-After":                       {"7"},
		}, RateLimit{200000, 0, 10 * time.Second, 100, 42, 7 * time.Second}},
		{"none", http.Header{}, RateLimit{-1, -1, -1, -1, -1, -1}},
		{"hostile", http.Header{
			"X-Ratelimit-Limit-Daily":           {"-5"},
			"X-Ratelimit-Daily-Remaining":       {"lots"},
			"X-Ratelimit-Interval-Milliseconds": {"999999999999999999999"},
			"X-Ratelimit-Max":                   {"1e3"},
			"X-Ratelimit-Remaining":             {""},
		}, RateLimit{-1, -1, -1, -1, -1, -1}},
		{"window over a day", http.Header{"X-Ratelimit-Interval-Milliseconds": {"86400001"}}, RateLimit{-1, -1, -1, -1, -1, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRateLimit(tc.h); got != tc.want {
				t.Errorf("parseRateLimit = %+v, want %+v", got, tc.want)
			}
		})
	}
	if (RateLimit{}).DailyExhausted() {
		t.Error("the zero RateLimit (no response) claims the daily budget is used up")
	}
	if !(RateLimit{DailyLimit: -1, DailyRemaining: 0}).DailyExhausted() {
		t.Error("Daily-Remaining 0 without a limit header is not exhausted")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, header, value string
		want                time.Duration
		ok                  bool
	}{
		{"seconds", "Retry-After", "7", 7 * time.Second, true},
		{"fraction", "Retry-After", "1.5", 1500 * time.Millisecond, true},
		{"ms", "Retry-After-Ms", "250", 250 * time.Millisecond, true},
		{"date", "Retry-After", "Fri, 27 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"past date", "Retry-After", "Fri, 27 Nov 2026 11:00:00 GMT", 0, true},
		{"huge", "Retry-After", "1e300", math.MaxInt64, true},
		{"out of range", "Retry-After", "1e400", math.MaxInt64, true},
		{"infinite", "Retry-After", "+Inf", math.MaxInt64, true},
		{"infinite ms", "Retry-After-Ms", "+Inf", math.MaxInt64, true},
		{"huge ms", "Retry-After-Ms", "1e300", math.MaxInt64, true},
		{"negative out of range", "Retry-After", "-1e400", 0, false},
		{"tiny", "Retry-After", "1e-400", 0, true},
		{"negative", "Retry-After", "-3", 0, false},
		{"NaN", "Retry-After", "NaN", 0, false},
		{"garbage", "Retry-After", "soon", 0, false},
		{"absent", "", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set(tc.header, tc.value)
			}
			got, ok := retryAfter(h, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("retryAfter(%s: %q) = %s, %v; want %s, %v", tc.header, tc.value, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	for attempt := 1; attempt <= 70; attempt++ {
		want := min(backoffBase<<min(attempt-1, 10), backoffMax)
		for range 50 {
			if d := backoff(attempt); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func TestUntilMidnightUTC(t *testing.T) {
	now := time.Date(2026, 11, 27, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	if got := untilMidnightUTC(now); got != 1*time.Hour+30*time.Minute {
		t.Errorf("untilMidnightUTC = %s, want 1h30m", got)
	}
}
