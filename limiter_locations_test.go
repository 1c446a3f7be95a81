package leadway

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// Idle locations are forgotten; busy, waited-on and stopped ones are kept.
func TestLimiterEvictsIdleLocations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, time.Second)
		ctx := context.Background()
		for i := range 1000 {
			if err := l.Wait(ctx, fmt.Sprint("loc-", i)); err != nil {
				t.Fatal(err)
			}
		}
		l.Observe("stopped", RateLimit{DailyLimit: 10, DailyRemaining: 0, RetryAfter: 24 * time.Hour, Remaining: -1})
		if err := l.Wait(ctx, "waited"); err != nil {
			t.Fatal(err)
		}
		waiter := make(chan error)
		wctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		time.Sleep(sweepEvery)
		l.Observe("waited", RateLimit{Max: 1, Interval: time.Minute, Remaining: -1})
		go func() { waiter <- l.Wait(wctx, "waited") }()
		synctest.Wait()
		if err := l.Wait(ctx, "new"); err != nil { // sweeps
			t.Fatal(err)
		}
		sl := l.(*slidingLimiter)
		sl.mu.Lock()
		keys := make([]string, 0, len(sl.locs))
		for k := range sl.locs {
			keys = append(keys, k)
		}
		sl.mu.Unlock()
		slices.Sort(keys)
		if want := []string{"new", "stopped", "waited"}; !slices.Equal(keys, want) {
			t.Errorf("locations kept: %v, want %v", keys, want)
		}
		if err := <-waiter; err != nil {
			t.Error(err)
		}
	})
}
