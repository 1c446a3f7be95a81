package leadwaytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway"
)

func TestWindowModels(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at        time.Duration
		allowed   bool
		remaining int
	}
	for _, tc := range []struct {
		model WindowModel
		steps []step
	}{
		// A fixed window starts at 0 and admits 2; the next starts at 1s.
		// Four requests pass within 150ms around the boundary.
		{FixedWindow, []step{{0, true, 1}, {900 * time.Millisecond, true, 0}, {950 * time.Millisecond, false, 0},
			{time.Second, true, 1}, {1050 * time.Millisecond, true, 0}, {1100 * time.Millisecond, false, 0}}},
		// A sliding window admits a request only when fewer than 2 passed
		// in the second before it.
		{SlidingWindow, []step{{0, true, 1}, {900 * time.Millisecond, true, 0}, {950 * time.Millisecond, false, 0},
			{time.Second, true, 0}, {1050 * time.Millisecond, false, 0}, {1900 * time.Millisecond, true, 0},
			{2 * time.Second, true, 0}, {3 * time.Second, true, 1}}},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			b := newBudget(2, time.Second, 100, tc.model)
			for i, s := range tc.steps {
				q, ok := b.take("loc-1", t0.Add(s.at))
				if ok != s.allowed || q.remaining != s.remaining || q.max != 2 || q.intervalMS != 1000 {
					t.Errorf("step %d at %s: allowed %v, remaining %d; want %v, %d", i, s.at, ok, q.remaining, s.allowed, s.remaining)
				}
			}
			// Another location has its own window.
			if _, ok := b.take("loc-2", t0.Add(1100*time.Millisecond)); !ok {
				t.Error("loc-2 was refused")
			}
		})
	}
}

func TestParseWindowModel(t *testing.T) {
	for _, m := range []WindowModel{FixedWindow, SlidingWindow} {
		if got, err := ParseWindowModel(m.String()); got != m || err != nil {
			t.Errorf("ParseWindowModel(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseWindowModel("rolling"); err == nil || err.Error() != `leadwaytest: window model "rolling": want fixed or sliding` {
		t.Errorf("ParseWindowModel(rolling) error = %v", err)
	}
	if _, err := Start(WithWindow(WindowModel(7))); err == nil || err.Error() != "leadwaytest: unknown WindowModel(7)" {
		t.Errorf("WithWindow(7) error = %v", err)
	}
}

// TestLimiterAgainstWindowModels drives leadway's limiter against both
// window models, with 32 callers and a send-to-count delay that varies
// between 0 and 2ms (in a pattern of 7 against a budget of 10), below the limiter's 2.5ms margin for a 1s window: no
// request is ever refused, and the budget is used whole. The first call
// goes alone, as a limiter that starts above the server's budget cannot
// know it before an answer.
func TestLimiterAgainstWindowModels(t *testing.T) {
	const (
		max      = 10
		interval = time.Second
		run      = time.Minute
	)
	limiters := map[string]func() leadway.Limiter{
		// Told the budget up front.
		"told": func() leadway.Limiter { return leadway.NewLimiter(max, interval) },
		// The vendor's 100 per 10s, tightened by the announced 10 per 1s.
		"announced": func() leadway.Limiter { return leadway.NewLimiter(100, 10*time.Second) },
	}
	for _, model := range []WindowModel{FixedWindow, SlidingWindow} {
		for name, newLimiter := range limiters {
			t.Run(fmt.Sprintf("%s/%s", model, name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					b := newBudget(max, interval, 1_000_000, model)
					l := newLimiter()
					var mu sync.Mutex
					var admitted, refused, n int
					var last time.Time
					start := time.Now()
					ctx, cancel := context.WithTimeout(context.Background(), run)
					defer cancel()
					send := func() {
						mu.Lock()
						n++
						transit := time.Duration(n%7) * 333 * time.Microsecond
						mu.Unlock()
						time.Sleep(transit)
						mu.Lock()
						q, ok := b.take("loc-1", time.Now())
						if ok {
							admitted++
							last = time.Now()
						} else {
							refused++
						}
						mu.Unlock()
						time.Sleep(time.Millisecond) // the answer's way back
						l.Observe("loc-1", leadway.RateLimit{
							DailyLimit: q.daily, DailyRemaining: q.dailyRemaining,
							Interval: time.Duration(q.intervalMS) * time.Millisecond,
							Max:      q.max, Remaining: q.remaining, RetryAfter: -1,
						})
					}
					// One call first: a limiter that starts above the
					// server's budget learns it from the answer.
					if err := l.Wait(ctx, "loc-1"); err != nil {
						t.Fatal(err)
					}
					send()
					var wg sync.WaitGroup
					for range 32 {
						wg.Go(func() {
							for l.Wait(ctx, "loc-1") == nil {
								send()
							}
						})
					}
					wg.Wait()
					if refused != 0 {
						t.Errorf("%d requests refused (%d admitted), want none", refused, admitted)
					}
					// The budget over the span of the run: 10 per 1s.
					budget := float64(max) * last.Sub(start).Seconds() / interval.Seconds()
					if share := float64(admitted-max) / budget; share < 0.995 || share > 1 {
						t.Errorf("%d admitted in %s: %.2f%% of the budget after the first burst, want 99.5%% to 100%%",
							admitted, run, 100*share)
					}
				})
			})
		}
	}
}
