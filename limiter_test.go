package leadway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// checkWindows fails when some window of length interval, at any
// alignment, holds more than max of the sorted send times.
func checkWindows(t *testing.T, sends []time.Time, max int, interval time.Duration) {
	t.Helper()
	slices.SortFunc(sends, func(a, b time.Time) int { return a.Compare(b) })
	for i := range sends {
		n := 0
		for _, s := range sends[i:] {
			if s.Sub(sends[i]) < interval {
				n++
			}
		}
		if n > max {
			t.Fatalf("%d requests in the %s from %s, want at most %d", n, interval, sends[i], max)
		}
	}
}

// recorder collects the times Wait let a call through.
type recorder struct {
	mu    sync.Mutex
	sends []time.Time
}

func (r *recorder) add() {
	r.mu.Lock()
	r.sends = append(r.sends, time.Now())
	r.mu.Unlock()
}

func (r *recorder) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sends)
}

// run starts workers that call Wait for key until ctx ends, and waits for
// them.
func (r *recorder) run(ctx context.Context, l Limiter, key string, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for l.Wait(ctx, key) == nil {
				r.add()
			}
		})
	}
	wg.Wait()
}

func TestLimiterBurstOfMaxGoesOutAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(100, 10*time.Second)
		start := time.Now()
		for i := range 100 {
			if err := l.Wait(context.Background(), "loc-1"); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("a burst of 100 waited %s, want no wait", waited)
		}
		// The 101st waits for the first send to leave the window.
		if err := l.Wait(context.Background(), "loc-1"); err != nil {
			t.Fatal(err)
		}
		if waited, want := time.Since(start), 10*time.Second+SafetyMargin(10*time.Second); waited != want {
			t.Errorf("the 101st call waited %s, want %s", waited, want)
		}
		// Another location has its own budget.
		before := time.Now()
		if err := l.Wait(context.Background(), "loc-2"); err != nil || time.Since(before) != 0 {
			t.Errorf("loc-2 waited %s (%v)", time.Since(before), err)
		}
	})
}

func TestSafetyMargin(t *testing.T) {
	for _, tc := range []struct{ interval, want time.Duration }{
		{time.Second, 2500 * time.Microsecond},
		{10 * time.Second, 25 * time.Millisecond},
		{time.Minute, 25 * time.Millisecond},
	} {
		if got := SafetyMargin(tc.interval); got != tc.want {
			t.Errorf("SafetyMargin(%s) = %s, want %s", tc.interval, got, tc.want)
		}
	}
}

// TestLimiterKeepsEveryWindowUnderMax sends as fast as the limiter allows,
// from many goroutines, and checks every window of the announced length at
// any alignment, and that the budget is used whole.
func TestLimiterKeepsEveryWindowUnderMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter()
		// A response announces a smaller budget: 10 per second.
		l.Observe("loc-1", RateLimit{Max: 10, Interval: time.Second, Remaining: -1, DailyRemaining: -1, DailyLimit: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
		defer cancel()
		var r recorder
		r.run(ctx, l, "loc-1", 16)
		sends := r.times()
		checkWindows(t, sends, 10, time.Second)
		// Steady load: windows of 1s + 2.5ms, 10 calls each, 99.75% of the
		// budget; the target is at least 99.5%.
		if share := float64(len(sends)) / 1000; share < 0.995 || len(sends) > 1000 {
			t.Errorf("%d calls in 100s at 10/s: %.2f%% of the budget, want 99.5%% to 100%%", len(sends), 100*share)
		}
	})
}

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

func TestLimiterIgnoresHostileWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter()
		l.Observe("k", RateLimit{Max: 1, Interval: 24 * time.Hour, Remaining: -1})
		l.Observe("k", RateLimit{Max: 0, Interval: time.Second, Remaining: -1})
		l.Observe("k", RateLimit{Max: 5, Interval: -1, Remaining: -1})
		start := time.Now()
		for range 100 {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		// Still the vendor's 100 per 10s: a burst of 100 without waiting.
		if took := time.Since(start); took != 0 {
			t.Errorf("100 calls took %s; a hostile window was adopted", took)
		}
	})
}

// A budget given to NewLimiter is a ceiling: announced figures make it
// stricter, never looser. The default limiter follows them both ways.
func TestLimiterNeverRaisesAChosenBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(5, time.Second)
		l.Observe("k", RateLimit{Max: 100, Interval: 100 * time.Millisecond, Remaining: -1})
		start := time.Now()
		for range 6 {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		if waited, want := time.Since(start), time.Second+SafetyMargin(time.Second); waited != want {
			t.Errorf("the 6th call under NewLimiter(5, 1s) waited %s, want %s: the budget was raised", waited, want)
		}
		// Stricter figures are adopted: 2 per 2s.
		l.Observe("k2", RateLimit{Max: 2, Interval: 2 * time.Second, Remaining: -1})
		start = time.Now()
		for range 3 {
			if err := l.Wait(context.Background(), "k2"); err != nil {
				t.Fatal(err)
			}
		}
		if waited, want := time.Since(start), 2*time.Second+SafetyMargin(2*time.Second); waited != want {
			t.Errorf("the 3rd call under 2 per 2s waited %s, want %s", waited, want)
		}

		d := newAdaptiveLimiter()
		d.Observe("k", RateLimit{Max: 1000, Interval: time.Second, Remaining: -1})
		start = time.Now()
		for range 1000 {
			if err := d.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("the default limiter waited %s for 1000 calls under an announced 1000/s", waited)
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

// Figures that flap between two budgets neither hand out extra slots nor
// starve the waiters: each window holds at most the larger budget and at
// least the smaller one is used.
func TestLimiterFlappingFiguresKeepThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(3, 100*time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var r recorder
		done := make(chan struct{})
		go func() {
			r.run(ctx, l, "k", 50)
			close(done)
		}()
		for i := 0; ctx.Err() == nil; i++ {
			l.Observe("k", RateLimit{Max: 2 + i%2, Interval: 100 * time.Millisecond, Remaining: -1})
			time.Sleep(time.Millisecond)
		}
		<-done
		sends := r.times()
		checkWindows(t, sends, 3, 100*time.Millisecond)
		// Ten windows of 100ms: at least 2 a window, at most 3.
		if n := len(sends); n < 20 || n > 30 {
			t.Errorf("%d calls passed in 1s, want 20 to 30", n)
		}
	})
}

// The default limiter meets a faster budget while 64 callers queue at the
// vendor's default pace: the switch lets none of them burst through.
func TestLimiterAdaptsWithoutABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var r recorder
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for l.Wait(ctx, "k") == nil {
					r.add()
					time.Sleep(time.Millisecond) // the answer announces 100/s
					l.Observe("k", RateLimit{Max: 100, Interval: time.Second, Remaining: -1})
				}
			})
		}
		wg.Wait()
		sends := r.times()
		checkWindows(t, sends, 100, time.Second)
		if len(sends) < 295 || len(sends) > 300 {
			t.Errorf("%d calls in 3s, want 295 to 300 at the adopted 100/s", len(sends))
		}
	})
}

// X-RateLimit-Remaining below what this limiter accounts for means someone
// else spends the budget: the limiter leaves that room to them.
func TestLimiterLeavesRoomForOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(10, time.Second)
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		// The server counted 8 in its window; this process sent 1.
		l.Observe("k", RateLimit{Max: 10, Remaining: 2, Interval: time.Second, RetryAfter: -1})
		start := time.Now()
		for range 3 {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		if waited, want := time.Since(start), time.Second; waited != want {
			t.Errorf("the third call waited %s, want %s: 2 slots were left", waited, want)
		}
		// A difference under a quarter of the budget is taken for noise.
		l4 := NewLimiter(10, time.Second)
		for range 4 {
			if err := l4.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		l4.Observe("k", RateLimit{Max: 10, Remaining: 5, Interval: time.Second, RetryAfter: -1})
		start = time.Now()
		for range 6 {
			if err := l4.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("6 calls after a difference of 1 waited %s", waited)
		}
		// With Retry-After, the others' requests leave the window when it says.
		l3 := NewLimiter(10, time.Second)
		l3.Observe("k", RateLimit{Max: 10, Remaining: 0, Interval: time.Second, RetryAfter: 300 * time.Millisecond})
		start = time.Now()
		if err := l3.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		if waited, want := time.Since(start), 300*time.Millisecond; waited != want {
			t.Errorf("after a full window with Retry-After 300ms, the call waited %s, want %s", waited, want)
		}
		// Figures that agree with what this limiter sent change nothing.
		l2 := NewLimiter(10, time.Second)
		for range 4 {
			if err := l2.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		l2.Observe("k", RateLimit{Max: 10, Remaining: 6, Interval: time.Second, RetryAfter: -1})
		start = time.Now()
		for range 6 {
			if err := l2.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("6 calls with 6 remaining waited %s", waited)
		}
	})
}

func dailyRefusal(t *testing.T, err error) time.Duration {
	t.Helper()
	var rlErr *RateLimitError
	if !errors.As(err, &rlErr) || !rlErr.Daily || rlErr.APIError != nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %#v, want a *RateLimitError with Daily set and no APIError", err)
	}
	return rlErr.RetryAfter
}

func TestLimiterDailyStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(100, 10*time.Second)
		ctx := context.Background()
		spent := RateLimit{DailyLimit: 200000, DailyRemaining: 0, Max: 100, Interval: 10 * time.Second, Remaining: 99, RetryAfter: time.Hour}
		l.Observe("k", spent)
		if got := dailyRefusal(t, l.Wait(ctx, "k")); got != time.Hour {
			t.Errorf("RetryAfter = %s, want 1h", got)
		}
		if err := l.Wait(ctx, "other"); err != nil {
			t.Errorf("another location was stopped too: %v", err)
		}
		time.Sleep(time.Hour - time.Minute)
		if got := dailyRefusal(t, l.Wait(ctx, "k")); got != time.Minute {
			t.Errorf("RetryAfter = %s, want 1m", got)
		}
		time.Sleep(time.Minute)
		// One probe, and only one, until an answer comes.
		if err := l.Wait(ctx, "k"); err != nil {
			t.Fatalf("the probe was refused: %v", err)
		}
		if got := dailyRefusal(t, l.Wait(ctx, "k")); got != DailyProbeLease {
			t.Errorf("second call while probing: RetryAfter = %s, want %s", got, DailyProbeLease)
		}
		// The probe's answer: still spent, with no Retry-After. The stop
		// runs to midnight UTC.
		spent.RetryAfter = -1
		l.Observe("k", spent)
		if got, want := dailyRefusal(t, l.Wait(ctx, "k")), untilMidnightUTC(time.Now()); got != want {
			t.Errorf("RetryAfter = %s, want %s (midnight UTC)", got, want)
		}
		time.Sleep(untilMidnightUTC(time.Now()))
		if err := l.Wait(ctx, "k"); err != nil {
			t.Fatalf("the probe was refused: %v", err)
		}
		// A probe that got no answer: after the lease, the next call probes.
		time.Sleep(DailyProbeLease)
		if err := l.Wait(ctx, "k"); err != nil {
			t.Fatalf("the probe after the lease was refused: %v", err)
		}
		dailyRefusal(t, l.Wait(ctx, "k"))
		// Its answer has budget left: everything goes again.
		l.Observe("k", RateLimit{DailyLimit: 200000, DailyRemaining: 199999, Max: 100, Interval: 10 * time.Second, Remaining: 99, RetryAfter: -1})
		for range 3 {
			if err := l.Wait(ctx, "k"); err != nil {
				t.Fatalf("after a good answer: %v", err)
			}
		}
	})
}

// A probe whose caller gives up before sending leaves the probe to the next.
func TestLimiterDailyProbeFreedWhenItsCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, time.Second)
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		l.Observe("k", RateLimit{DailyLimit: 10, DailyRemaining: 0, Max: 1, Interval: time.Second, Remaining: 0, RetryAfter: 0})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- l.Wait(ctx, "k") }() // the probe, waiting for the window
		synctest.Wait()
		dailyRefusal(t, l.Wait(context.Background(), "k"))
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Errorf("the probe was not freed: %v", err)
		}
	})
}

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

func TestNewLimiterRefusesABadBudget(t *testing.T) {
	for _, tc := range []struct {
		max      int
		interval time.Duration
	}{{0, time.Second}, {-1, time.Second}, {10, 0}, {10, -time.Second}} {
		err := NewLimiter(tc.max, tc.interval).Wait(context.Background(), "k")
		want := fmt.Sprintf("leadway: NewLimiter(%d, %s): max and interval must be positive", tc.max, tc.interval)
		if err == nil || err.Error() != want {
			t.Errorf("NewLimiter(%d, %s).Wait = %v, want %q", tc.max, tc.interval, err, want)
		}
	}
}

// A window is measured from the answer, by when the server had surely
// counted the request, however long the way there took.
func TestLimiterMeasuresFromTheAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2, time.Second)
		start := time.Now()
		for range 2 {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond) // the first answer takes 300ms
		l.Observe("k", RateLimit{Max: 2, Interval: time.Second, Remaining: -1, RetryAfter: -1})
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		// The unanswered send still counts from when it left.
		if got, want := time.Since(start), time.Second+SafetyMargin(time.Second); got != want {
			t.Errorf("the third call went at %s, want %s", got, want)
		}
		if err := l.Wait(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		// The answered one counts from its answer, with no margin: by then
		// the server had surely counted it.
		if got, want := time.Since(start), 1300*time.Millisecond; got != want {
			t.Errorf("the fourth call went at %s, want %s: a window after the answer", got, want)
		}
	})
}
