package leadway

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

// A log holds a window of sends, a million for a large budget: an entry
// takes at most 32 bytes (it took 56 with a time.Time in it).
func TestSlotSize(t *testing.T) {
	if got := unsafe.Sizeof(slot{}); got > 32 {
		t.Errorf("a log entry takes %d bytes, want at most 32", got)
	}
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

// gallop finds what sort.Search finds, from either end.
func TestGallop(t *testing.T) {
	for n := range 70 {
		for first := 0; first <= n; first++ {
			later := func(i int) bool { return i >= first }
			for _, fromBack := range []bool{false, true} {
				if got := gallop(n, later, fromBack); got != first {
					t.Fatalf("gallop(%d, first later %d, fromBack %v) = %d", n, first, fromBack, got)
				}
			}
		}
	}
}

// An entry for others' requests stands for all of them: positions count
// requests, not entries, and inserting or removing moves the entries
// behind by the requests they stand for.
func TestLogPositions(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	loc := &location{max: 10, interval: time.Second, epoch: base}
	for i := range 3 {
		loc.push(int64(i*int(time.Millisecond)), nil)
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	loc.push(int64(time.Second), w)
	loc.waiters++
	loc.insertPast(loc.rel(base.Add(time.Millisecond)), 1000) // after the send at 1ms
	ends := func() []int64 {
		var e []int64
		for _, s := range loc.log {
			e = append(e, s.end)
		}
		return e
	}
	if got, want := ends(), []int64{1, 2, 1002, 1003, 1004}; !slices.Equal(got, want) {
		t.Fatalf("ends = %v, want %v", got, want)
	}
	for pos, want := range map[int64]int{0: -1, 1: 0, 2: 1, 3: 2, 500: 2, 1002: 2, 1003: 3, 1004: 4, 1005: -1} {
		if got := loc.entryAt(pos); got != want {
			t.Errorf("entryAt(%d) = %d, want %d", pos, got, want)
		}
	}
	if got := loc.indexOf(w); got != 4 {
		t.Errorf("the waiter is at %d, want 4", got)
	}
	if got := loc.sentBetween(-int64(time.Second), int64(2*time.Millisecond)); got != 1003 {
		t.Errorf("sentBetween = %d, want the 3 sends and the 1000 others", got)
	}
	loc.removeAt(2)
	if got, want := ends(), []int64{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("after removing the others: ends = %v, want %v", got, want)
	}
	loc.trim(loc.rel(base.Add(5 * time.Second))) // the sends are a window old
	if len(loc.log) != 1 || loc.indexOf(w) != 0 || loc.startEnd != 3 || loc.log[0].end != 4 {
		t.Errorf("after trimming: %d entries, waiter at %d, startEnd %d", len(loc.log), loc.indexOf(w), loc.startEnd)
	}
}

// Figures that announce a shorter window make the log keep that window
// once a whole old one has passed: below the budget, the log holds a
// second's sends, not ten.
func TestLimiterLogShrinksToTheAnnouncedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newSlidingLimiter(defaultBurstMax, defaultBurstInterval, true)
		rl := RateLimit{Max: 10_000, Interval: time.Second, Remaining: -1, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1}
		l.Observe("k", rl)
		start := time.Now()
		longest := 0
		for time.Since(start) < 15*time.Second { // 1,000 per second
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
			l.Observe("k", rl)
			time.Sleep(time.Millisecond)
			if time.Since(start) > 11*time.Second {
				longest = max(longest, len(l.locs["k"].log))
			}
		}
		if longest == 0 || longest > 1100 {
			t.Errorf("after 11s at 1,000 per second the log held up to %d entries, want a second's worth", longest)
		}
	})
}

// One answer saying a million were spent elsewhere is one entry.
func TestLimiterOthersAreOneEntry(t *testing.T) {
	l := newSlidingLimiter(defaultBurstMax, defaultBurstInterval, true)
	l.Observe("k", RateLimit{Max: MaxBurstFigure, Remaining: 0, Interval: time.Second, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1})
	loc := l.locs["k"]
	if len(loc.log) != 1 || loc.log[0].end-loc.startEnd != MaxBurstFigure {
		t.Fatalf("log = %d entries (first stands for %d), want one for %d", len(loc.log), loc.log[0].end-loc.startEnd, MaxBurstFigure)
	}
}

// A budget of one call per the longest interval a time.Duration holds
// lets one call through, not two, and eviction does not forget it: log
// times held at their bounds do not wrap around.
func TestLimiterLongestInterval(t *testing.T) {
	for _, iv := range []time.Duration{math.MaxInt64 - time.Second, math.MaxInt64} {
		l := newSlidingLimiter(1, iv, false)
		now := time.Now()
		l.now = func() time.Time { return now }
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		l.Observe("k", RateLimit{Max: -1, Remaining: -1, RetryAfter: -1, DailyLimit: -1, DailyRemaining: 5})
		now = now.Add(2 * time.Second)
		if err := l.Wait(ctx, "k"); err != nil {
			t.Fatalf("interval %s: the first call: %v", iv, err)
		}
		for _, step := range []time.Duration{2 * time.Second, 3 * sweepEvery} {
			now = now.Add(step)
			var past *SlotPastDeadlineError
			if err := l.Wait(ctx, "k"); !errors.As(err, &past) {
				t.Errorf("interval %s, %s later: a second call got %v, want the slot past the deadline", iv, step, err)
			}
		}
		cancel()
	}
}
