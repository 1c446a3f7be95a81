package leadway

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkLimiterPerCall is the cost of one Wait and one Observe (with
// X-RateLimit-Remaining, as the vendor sends on every answer) on a log that
// holds n requests of the window. The clock moves a window/n per call, so
// the log stays at n and no call waits. The cost must not grow with n.
func BenchmarkLimiterPerCall(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("entries=", n), func(b *testing.B) {
			const window = 10 * time.Second
			l := newSlidingLimiter(2*n, window, false)
			now := time.Unix(1_700_000_000, 0)
			l.now = func() time.Time { return now }
			step := window / time.Duration(n)
			rl := RateLimit{Max: 2 * n, Remaining: n, Interval: window, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1}
			ctx := context.Background()
			for range 2 * n { // fill the window
				if err := l.Wait(ctx, "loc-1"); err != nil {
					b.Fatal(err)
				}
				l.Observe("loc-1", rl)
				now = now.Add(step)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Wait(ctx, "loc-1"); err != nil {
					b.Fatal(err)
				}
				l.Observe("loc-1", rl)
				now = now.Add(step)
			}
			b.ReportMetric(float64(len(l.locs["loc-1"].log)), "entries")
		})
	}
}

// BenchmarkLimiterWaiters is w callers queued on a spent location that all
// give up (cancel), and w that wait and then each see an answer observed:
// allocations and time per whole scenario must grow linearly with w.
func BenchmarkLimiterWaiters(b *testing.B) {
	for _, w := range []int{500, 1_000, 2_000} {
		b.Run(fmt.Sprintf("waiters=%d/cancelling", w), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l := newSlidingLimiter(1, time.Hour, false)
				if err := l.Wait(context.Background(), "k"); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				queued := make(chan struct{}, w)
				for range w {
					wg.Go(func() {
						queued <- struct{}{}
						_ = l.Wait(ctx, "k")
					})
				}
				for range w {
					<-queued
				}
				waitQueued(l, "k", w)
				cancel()
				wg.Wait()
			}
		})
		b.Run(fmt.Sprintf("waiters=%d/observing", w), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l := newSlidingLimiter(w, time.Millisecond, false)
				rl := RateLimit{Max: w, Remaining: -1, Interval: time.Millisecond, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1}
				for range w { // spend the window
					if err := l.Wait(context.Background(), "k"); err != nil {
						b.Fatal(err)
					}
				}
				var wg sync.WaitGroup
				for range w {
					wg.Go(func() {
						if err := l.Wait(context.Background(), "k"); err == nil {
							l.Observe("k", rl)
						}
					})
				}
				wg.Wait()
			}
		})
	}
}

// waitQueued returns once n callers wait on key.
func waitQueued(l *slidingLimiter, key string, n int) {
	for {
		l.mu.Lock()
		got := l.locs[key].waiters
		l.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// A steady window reuses the log's array: trim drops entries from the
// front, and the log moves down into the room they leave, so calls at a
// steady pace allocate nothing however many windows pass (a new array
// every few hundred calls, a copy of the whole window each, before).
func TestSteadyWindowAllocatesNothing(t *testing.T) {
	const n, window = 1_000, 10 * time.Second
	l := newSlidingLimiter(2*n, window, false)
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	step := window / n
	rl := RateLimit{Max: 2 * n, Remaining: n, Interval: window, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1}
	call := func() {
		if err := l.Wait(context.Background(), "loc-1"); err != nil {
			t.Fatal(err)
		}
		l.Observe("loc-1", rl)
		now = now.Add(step)
	}
	for range 3 * n { // fill the window, and let it reach its size
		call()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 * n { // twenty windows
		call()
	}
	runtime.ReadMemStats(&after)
	if allocs, bytes := after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc; allocs > 2 || bytes > 4<<10 {
		t.Errorf("%d calls over twenty windows allocated %d times, %d bytes; want none", 20*n, allocs, bytes)
	}
	if loc := l.locs["loc-1"]; cap(loc.arr) > 4*len(loc.log)+64 {
		t.Errorf("the log's array holds %d entries for a log of %d", cap(loc.arr), len(loc.log))
	}
}
