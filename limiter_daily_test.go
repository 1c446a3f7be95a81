package leadway

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

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

// A Retry-After of centuries stops a location for a day at most.
func TestLimiterDailyStopIsBounded(t *testing.T) {
	loc := &location{}
	now := time.Unix(1_700_000_000, 0)
	loc.observeDaily(RateLimit{DailyLimit: 200_000, DailyRemaining: 0, RetryAfter: math.MaxInt64, Max: -1, Remaining: -1}, now)
	if got := loc.stopUntil.Sub(now); got != maxDailyStop {
		t.Errorf("stopped for %s, want %s", got, maxDailyStop)
	}
}
