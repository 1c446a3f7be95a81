package leadway

import (
	"context"
	"testing"
	"time"
)

// FuzzObserve feeds arbitrary figures to Observe between calls to Wait, on
// both limiters: no panic, a log that stays ordered and in step with its
// positions, and at most a few entries per call, however large the
// figures.
func FuzzObserve(f *testing.F) {
	f.Add(100, 0, int64(10_000), int64(-1), 200_000, 5, uint8(3), false)
	f.Add(1<<50, 0, int64(1000), int64(-1), -1, -1, uint8(10), true)
	f.Add(5_000_000, 0, int64(1000), int64(300), 0, 0, uint8(2), true)
	f.Add(1_000_000, 999_999, int64(1), int64(1<<62), 10, 0, uint8(50), false)
	f.Fuzz(func(t *testing.T, max, remaining int, intervalMs, retryMs int64, dailyLimit, dailyRemaining int, calls uint8, adaptive bool) {
		l := newSlidingLimiter(10, time.Second, adaptive)
		now := time.Unix(1_700_000_000, 0)
		l.now = func() time.Time { return now }
		rl := RateLimit{Max: max, Remaining: remaining, Interval: time.Duration(intervalMs) * time.Millisecond,
			RetryAfter: time.Duration(retryMs) * time.Millisecond, DailyLimit: dailyLimit, DailyRemaining: dailyRemaining}
		for i := range int(calls) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			_ = l.Wait(ctx, "k") // a slot ahead is refused at once: nothing waits
			cancel()
			l.Observe("k", rl)
			now = now.Add(time.Duration(i%7) * time.Millisecond)
		}
		loc := l.locs["k"]
		if loc == nil {
			return
		}
		if len(loc.log) > 2*int(calls)+2 {
			t.Fatalf("%d calls left %d entries", calls, len(loc.log))
		}
		end := loc.startEnd
		for i, s := range loc.log {
			if s.end < end+1 || i > 0 && s.at < loc.log[i-1].at {
				t.Fatalf("entry %d of %d out of step: %+v (previous end %d)", i, len(loc.log), s, end)
			}
			end = s.end
		}
	})
}
