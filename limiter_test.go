package leadway

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestLimiterKeepsEveryWindowUnderMax sends as fast as the limiter allows
// and checks every window of the announced length, at any alignment.
func TestLimiterKeepsEveryWindowUnderMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(100, 10*time.Second)
		// A response announces a smaller budget: 10 per second.
		l.Observe("loc-1", RateLimit{Max: 10, Interval: time.Second})
		var starts []time.Time
		for range 50 {
			if err := l.Wait(context.Background(), "loc-1"); err != nil {
				t.Fatal(err)
			}
			starts = append(starts, time.Now())
		}
		for i := range starts {
			n := 0
			for _, s := range starts[i:] {
				if s.Sub(starts[i]) < time.Second {
					n++
				}
			}
			if n > 10 {
				t.Fatalf("%d requests in the second from %s", n, starts[i])
			}
		}
		// 50 requests at (10-1)/s take about 49/9 s: close to the budget.
		if took := starts[49].Sub(starts[0]); took > 5500*time.Millisecond {
			t.Errorf("50 requests took %s; the limiter wastes budget", took)
		}
		// Another location has its own bucket: its first call does not wait.
		before := time.Now()
		if err := l.Wait(context.Background(), "loc-2"); err != nil || time.Since(before) != 0 {
			t.Errorf("loc-2 waited %s (%v)", time.Since(before), err)
		}
	})
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2, time.Hour)
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := l.Wait(ctx, "k"); err == nil {
			t.Error("Wait returned nil although the next slot is an hour away")
		}
	})
}

func TestLimiterIgnoresHostileWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(100, 10*time.Second)
		l.Observe("k", RateLimit{Max: 1, Interval: 24 * time.Hour})
		l.Observe("k", RateLimit{Max: 0, Interval: time.Second})
		start := time.Now()
		for range 10 {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		// Still the default pace of 99 per 10s: 9 waits of 10s/99.
		if took := time.Since(start); took > 950*time.Millisecond {
			t.Errorf("10 calls took %s; a day-long window was adopted", took)
		}
	})
}

// Waiters booked at the starting pace re-queue when a response announces a
// faster budget, instead of keeping their slow slots.
func TestLimiterWaitersAdoptANewBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2, 10*time.Second) // one call per 10s
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		done := make(chan time.Duration, 5)
		start := time.Now()
		for range 5 {
			go func() {
				if err := l.Wait(context.Background(), "k"); err != nil {
					t.Error(err)
				}
				done <- time.Since(start)
			}()
		}
		synctest.Wait() // all five are queued at 10s intervals
		l.Observe("k", RateLimit{Max: 101, Interval: time.Second})
		var last time.Duration
		for range 5 {
			last = max(last, <-done)
		}
		// Under the new pace of 100/s, five calls need about 40ms.
		if last > 100*time.Millisecond {
			t.Errorf("the last waiter got through after %s, want the new pace", last)
		}
	})
}

// Figures that flap between two budgets must not hand out extra slots.
func TestLimiterFlappingFiguresKeepThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(3, 100*time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var passed atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				for l.Wait(ctx, "k") == nil {
					passed.Add(1)
				}
			})
		}
		for i := 0; ctx.Err() == nil; i++ {
			l.Observe("k", RateLimit{Max: 2 + i%2, Interval: 100 * time.Millisecond})
			time.Sleep(time.Millisecond)
		}
		wg.Wait()
		// At most (3-1) per 100ms for 500ms, plus the first token.
		if n := passed.Load(); n > 11 {
			t.Errorf("%d calls passed in 500ms, want at most 11", n)
		}
	})
}

// The default limiter meets a faster budget while 64 callers queue at the
// vendor's default pace: the switch lets none of them burst through.
func TestLimiterAdaptsWithoutABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(defaultBurstMax, defaultBurstInterval)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var mu sync.Mutex
		var passes []time.Time
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for l.Wait(ctx, "k") == nil {
					mu.Lock()
					passes = append(passes, time.Now())
					mu.Unlock()
					time.Sleep(time.Millisecond) // the answer announces 100/s
					l.Observe("k", RateLimit{Max: 100, Interval: time.Second})
				}
			})
		}
		wg.Wait()
		for i := range passes {
			n := 0
			for _, p := range passes {
				if !p.Before(passes[i]) && p.Sub(passes[i]) < time.Second {
					n++
				}
			}
			if n > 100 {
				t.Fatalf("%d calls in the second from %s", n, passes[i])
			}
		}
		if len(passes) < 280 {
			t.Errorf("%d calls in 3s, want close to 300 at the adopted pace", len(passes))
		}
	})
}
