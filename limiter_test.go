package leadway

import (
	"context"
	"fmt"
	"slices"
	"sync"
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
