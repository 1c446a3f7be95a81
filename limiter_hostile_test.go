package leadway_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestHostileRateLimitHeaders: one answer with absurd rate-limit figures,
// through Client.Upsert on a default client, neither panics nor grows the
// heap by a MiB, and the limiter stays correct afterwards: the next calls,
// answered with sane figures, go out without a wait the budget does not
// call for.
func TestHostileRateLimitHeaders(t *testing.T) {
	for _, tc := range []struct {
		name           string
		max, remaining string
		interval       string
		wantNextWithin time.Duration // how long the next call may wait
	}{
		{"Max 2^50, Remaining 0", "1125899906842624", "0", "1000", 0},
		{"Max 5,000,000, Remaining 0", "5000000", "0", "1000", 0},
		{"Max at the bound, Remaining 0", "1000000", "0", "1000", time.Second + 10*time.Millisecond},
		{"Max overflowing int64", "99999999999999999999999", "0", "1000", 0},
		{"negative figures", "-100", "-5", "-1000", 0},
		{"NaN", "NaN", "NaN", "NaN", 0},
		{"Remaining over Max", "10", "50", "1000", 0},
		{"zero interval", "10", "0", "0", 0},
		{"huge interval", "10", "0", "9223372036854775807", 0},
		{"float figures", "1e9", "0.5", "1e3", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hostile atomic.Bool
			c, _, hits := setup(t, func(w http.ResponseWriter, _ *http.Request) {
				h := w.Header()
				if hostile.CompareAndSwap(true, false) {
					h.Set("X-RateLimit-Max", tc.max)
					h.Set("X-RateLimit-Remaining", tc.remaining)
					h.Set("X-RateLimit-Interval-Milliseconds", tc.interval)
				} else if tc.wantNextWithin > 0 {
					// The figures were adopted: the server goes on with them.
					h.Set("X-RateLimit-Max", tc.max)
					h.Set("X-RateLimit-Remaining", "999990")
					h.Set("X-RateLimit-Interval-Milliseconds", tc.interval)
				} else {
					h.Set("X-RateLimit-Max", "100")
					h.Set("X-RateLimit-Remaining", "99")
					h.Set("X-RateLimit-Interval-Milliseconds", "10000")
				}
				reply(200, "application/json", createdJSON)(w, nil)
			})
			ctx := context.Background()
			if _, err := c.Upsert(ctx, minimal()); err != nil { // warms the client up
				t.Fatal(err)
			}
			hostile.Store(true)
			before := heapInUse()
			if _, err := c.Upsert(ctx, minimal()); err != nil {
				t.Fatalf("the hostile answer's call: %v", err)
			}
			if grown := int64(heapInUse()) - int64(before); grown > 1<<20 {
				t.Errorf("one answer grew the heap by %d bytes, want under 1 MiB", grown)
			}
			// The next calls: at once, or after the window the figures
			// allow, never refused or held past it.
			for i := range 3 {
				wait := tc.wantNextWithin
				if i > 0 || wait == 0 {
					wait = 0
				}
				callCtx, cancel := context.WithTimeout(ctx, wait+2*time.Second)
				start := time.Now()
				_, err := c.Upsert(callCtx, minimal())
				cancel()
				if err != nil {
					var rle *leadway.RateLimitError
					t.Fatalf("call %d after the hostile answer: %v (rate limited: %v)", i, err, errors.As(err, &rle))
				}
				if took := time.Since(start); wait == 0 && took > time.Second {
					t.Errorf("call %d after the hostile answer waited %s", i, took)
				}
			}
			if got := hits.Load(); got != 5 {
				t.Errorf("the server saw %d requests, want 5", got)
			}
		})
	}
}

// A daily stop with a Retry-After of centuries ends within a day.
func TestHostileDailyRetryAfter(t *testing.T) {
	c, _, _ := setup(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit-Daily", "200000")
		w.Header().Set("X-RateLimit-Daily-Remaining", "0")
		w.Header().Set("Retry-After", "1e300")
		reply(429, "application/json", `{"statusCode":429,"message":"Too many requests"}`)(w, nil)
	}, leadway.WithMaxRetries(0))
	_, err := c.Upsert(context.Background(), minimal())
	var rle *leadway.RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("err = %v, want a *RateLimitError", err)
	}
	_, err = c.Upsert(context.Background(), minimal())
	if !errors.As(err, &rle) || !rle.Daily || rle.RetryAfter > 24*time.Hour {
		t.Fatalf("the next call: %v, want a daily refusal of at most a day", err)
	}
}
