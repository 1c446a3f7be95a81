package leadway

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Many callers race for the last slots: exactly as many pass as the budget
// holds, however the goroutines interleave, because a slot is looked up
// and booked under one lock.
func TestLimiterBooksUnderTheLock(t *testing.T) {
	for round := range 20 {
		synctest.Test(t, func(t *testing.T) {
			l := NewLimiter(2, time.Hour)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var passed, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Go(func() {
					<-start
					err := l.Wait(ctx, "k")
					switch {
					case err == nil:
						passed.Add(1)
					case errors.Is(err, context.DeadlineExceeded):
						refused.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if passed.Load() != 2 || refused.Load() != 48 {
				t.Errorf("round %d: %d passed and %d refused, want 2 and 48", round, passed.Load(), refused.Load())
			}
		})
	}
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, time.Hour)
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		// The next slot is an hour away: past a deadline in one second,
		// so Wait says so at once instead of sleeping into the timeout.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx, "k")
		var rlErr *RateLimitError
		if !errors.As(err, &rlErr) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a *RateLimitError that is also context.DeadlineExceeded", err)
		}
		if want := time.Hour + SafetyMargin(time.Hour); rlErr.Daily || rlErr.RetryAfter != want || rlErr.APIError != nil {
			t.Errorf("RateLimitError = %+v, want Daily false, RetryAfter %s, no APIError", *rlErr, want)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Wait took %s to refuse, want no wait", waited)
		}

		// A context canceled while waiting ends the wait with its error,
		// and frees the slot for the waiter behind.
		l = NewLimiter(1, time.Second)
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		first := make(chan error)
		go func() { first <- l.Wait(ctx, "k") }()
		synctest.Wait()
		second := make(chan time.Duration)
		start = time.Now()
		go func() {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Error(err)
			}
			second <- time.Since(start)
		}()
		synctest.Wait()
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-first; err != context.Canceled {
			t.Errorf("canceled wait returned %v, want context.Canceled", err)
		}
		// The second caller takes the freed slot, at 1s+margin, not the
		// one after it.
		if got, want := <-second, time.Second+SafetyMargin(time.Second); got != want {
			t.Errorf("the waiter behind got through after %s, want %s", got, want)
		}
		if err := l.Wait(ctx, "k"); err != context.Canceled {
			t.Errorf("Wait with an ended context = %v, want context.Canceled", err)
		}
	})
}

// Waiters booked at the starting budget are booked again when a response
// announces a looser one, instead of keeping their slow slots.
func TestLimiterWaitersAdoptANewBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter()
		l.Observe("k", RateLimit{Max: 1, Interval: 10 * time.Second, Remaining: -1})
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
		synctest.Wait() // all five are booked at 10s intervals
		time.Sleep(time.Second)
		l.Observe("k", RateLimit{Max: 100, Interval: time.Second, Remaining: -1})
		for range 5 {
			if got := <-done; got != time.Second {
				t.Errorf("a waiter got through after %s, want 1s: at once under the new budget", got)
			}
		}
	})
}

// A waiter that gives up frees its slot: the waiters behind move up, each
// to the slot before its own, and go out then, not at their old slots.
func TestLimiterCancelledWaiterMovesTheQueueUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, time.Second)
		start := time.Now()
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		first, cancel := context.WithCancel(context.Background())
		went := make([]time.Duration, 3)
		var wg sync.WaitGroup
		for i := range went {
			ctx := context.Background()
			if i == 0 {
				ctx = first
			}
			wg.Go(func() {
				if err := l.Wait(ctx, "k"); err == nil {
					went[i] = time.Since(start)
				}
			})
			synctest.Wait() // queued in this order
		}
		time.Sleep(500 * time.Millisecond)
		cancel()
		wg.Wait()
		margin := SafetyMargin(time.Second)
		if want := []time.Duration{0, time.Second + margin, 2 * (time.Second + margin)}; !slices.Equal(went, want) {
			t.Errorf("the waiters went at %v, want %v", went, want)
		}
	})
}

// A storm of waiters giving up at once leaves an empty, consistent queue.
func TestLimiterWaitersGiveUpTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newSlidingLimiter(1, time.Hour, false)
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 300 {
			wg.Go(func() {
				if err := l.Wait(ctx, "k"); !errors.Is(err, context.Canceled) {
					t.Errorf("Wait = %v, want context.Canceled", err)
				}
			})
		}
		synctest.Wait()
		cancel()
		wg.Wait()
		loc := l.locs["k"]
		if loc.waiters != 0 || len(loc.log) != 1 || loc.stale != 0 && loc.stale-1 > len(loc.log) {
			t.Errorf("after the storm: %d waiters, %d entries, stale %d", loc.waiters, len(loc.log), loc.stale)
		}
		// The next caller books the slot after the one send.
		next, cancelNext := context.WithTimeout(context.Background(), time.Minute)
		defer cancelNext()
		var rle *RateLimitError
		if err := l.Wait(next, "k"); !errors.As(err, &rle) || rle.RetryAfter > time.Hour+SafetyMargin(time.Hour) {
			t.Errorf("the next caller: %v, want its slot an hour after the send", err)
		}
	})
}
