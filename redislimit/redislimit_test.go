package redislimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/redislimit"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func within(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	_ = cancel // ends with the deadline
	return ctx
}

func wantSlotPastDeadline(t *testing.T, err error, lo, hi time.Duration) {
	t.Helper()
	var rlErr *leadway.RateLimitError
	if !errors.As(err, &rlErr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a *RateLimitError that is also context.DeadlineExceeded", err)
	}
	if rlErr.Daily || rlErr.APIError != nil || rlErr.RetryAfter < lo || rlErr.RetryAfter > hi {
		t.Fatalf("RateLimitError = %+v, want Daily false, no APIError, RetryAfter in [%s, %s]", *rlErr, lo, hi)
	}
}

// A burst of the budget is booked without a wait; the next call's slot is a
// window (plus the margin) after the first, past a short deadline, so it is
// refused at once. The keys carry the location as a hash tag and expire.
func TestBurstThenWindow(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	prefix := uniquePrefix(t)
	l := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(5, 10*time.Second))
	for i := range 5 {
		// A deadline far under the window: any booked wait would be
		// refused, and a slow machine still has time for the round trip.
		if err := l.Wait(within(2*time.Second), "loc-1"); err != nil {
			t.Fatalf("call %d of the burst: %v", i, err)
		}
	}
	err := l.Wait(within(time.Second), "loc-1")
	wantSlotPastDeadline(t, err, 9*time.Second, 10*time.Second+leadway.SafetyMargin(10*time.Second))
	if err := l.Wait(within(2*time.Second), "loc-2"); err != nil {
		t.Errorf("another location shares the budget: %v", err)
	}

	ctx := context.Background()
	logKey := prefix + "{loc-1}:log"
	if n, err := rdb.ZCard(ctx, logKey).Result(); err != nil || n != 5 {
		t.Errorf("ZCARD %s = %d, %v; want the 5 booked sends (the refused call books nothing)", logKey, n, err)
	}
	if ttl, err := rdb.PTTL(ctx, logKey).Result(); err != nil || ttl <= 10*time.Second || ttl > 11100*time.Millisecond {
		t.Errorf("PTTL %s = %s, %v; want a window and a second", logKey, ttl, err)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 4 {
		t.Errorf("keys = %q, %v; want the two logs and their epochs", keys, err)
	}
	epochKey := prefix + "{loc-1}:epoch"
	if ttl, err := rdb.PTTL(ctx, epochKey).Result(); err != nil || ttl <= 6*24*time.Hour || ttl > 7*24*time.Hour {
		t.Errorf("PTTL %s = %s, %v; want a week: it outlives the log, so that a wipe, not idleness, removes it", epochKey, ttl, err)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	for _, tc := range []struct {
		opt  redislimit.Option
		want string
	}{
		{redislimit.WithPrefix("app{1}:"), `redislimit: prefix "app{1}:": must not contain { or }, which Redis Cluster reads as a hash tag`},
		{redislimit.WithBudget(0, time.Second), "redislimit: budget 0 per 1s: both must be positive"},
		{redislimit.WithFallbackShare(1.5), "redislimit: fallback share 1.5: must be above 0 and at most 1"},
		{redislimit.WithFallbackShare(0), "redislimit: fallback share 0: must be above 0 and at most 1"},
		{redislimit.WithTimeout(0), "redislimit: timeout 0s: must be positive"},
		{redislimit.WithRetryEvery(-time.Second), "redislimit: retry interval -1s: must be positive"},
		{redislimit.WithSafetyMargin(-time.Millisecond), "redislimit: safety margin -1ms: must not be negative"},
		{redislimit.WithLogger(nil), "redislimit: nil *slog.Logger"},
	} {
		err := redislimit.New(rdb, tc.opt).Wait(context.Background(), "k")
		if err == nil || err.Error() != tc.want {
			t.Errorf("Wait = %v, want %q", err, tc.want)
		}
	}
	if err := redislimit.New(nil).Wait(context.Background(), "k"); err == nil || err.Error() != "redislimit: nil Redis client" {
		t.Errorf("New(nil).Wait = %v", err)
	}
}

// Two limiters on one Redis are two processes of a fleet: they share the
// budget, the daily stop and its single probe.
func TestFleetSharesBudgetAndDailyStop(t *testing.T) {
	srv := startRedis(t)
	prefix := uniquePrefix(t)
	a := redislimit.New(srv.Client(t), redislimit.WithPrefix(prefix), redislimit.WithBudget(4, 10*time.Second))
	b := redislimit.New(srv.Client(t), redislimit.WithPrefix(prefix), redislimit.WithBudget(4, 10*time.Second))
	for i, l := range []*redislimit.Limiter{a, b, a, b} {
		if err := l.Wait(within(2*time.Second), "loc-1"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	wantSlotPastDeadline(t, a.Wait(within(time.Second), "loc-1"), 9*time.Second, 10100*time.Millisecond)
	wantSlotPastDeadline(t, b.Wait(within(time.Second), "loc-1"), 9*time.Second, 10100*time.Millisecond)

	daily := func(err error) time.Duration {
		t.Helper()
		var rlErr *leadway.RateLimitError
		if !errors.As(err, &rlErr) || !rlErr.Daily || rlErr.APIError != nil {
			t.Fatalf("err = %v, want a daily *RateLimitError", err)
		}
		return rlErr.RetryAfter
	}
	spent := leadway.RateLimit{DailyLimit: 100, DailyRemaining: 0, Max: 100, Interval: 10 * time.Second, Remaining: 50, RetryAfter: 300 * time.Millisecond}
	a.Observe("day-1", spent)
	if d := daily(b.Wait(context.Background(), "day-1")); d <= 0 || d > 300*time.Millisecond {
		t.Errorf("RetryAfter = %s, want at most 300ms", d)
	}
	time.Sleep(300 * time.Millisecond)
	if err := b.Wait(context.Background(), "day-1"); err != nil {
		t.Fatalf("the probe was refused: %v", err)
	}
	if d := daily(a.Wait(context.Background(), "day-1")); d <= 59*time.Second || d > leadway.DailyProbeLease {
		t.Errorf("while the probe is out: RetryAfter = %s, want the probe's lease", d)
	}
	good := spent
	good.DailyRemaining, good.RetryAfter = 99, -1
	a.Observe("day-1", good) // an answer to a call before the stop: not the probe's
	daily(a.Wait(context.Background(), "day-1"))
	b.Observe("day-1", good) // the probe's answer
	if err := a.Wait(context.Background(), "day-1"); err != nil {
		t.Errorf("after the probe's answer: %v", err)
	}

	// Without Retry-After, the stop runs to about midnight UTC.
	a.Observe("day-2", leadway.RateLimit{DailyLimit: 100, DailyRemaining: 0, Remaining: -1, RetryAfter: -1})
	now := time.Now().UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Sub(now)
	if d := daily(b.Wait(context.Background(), "day-2")); d < midnight-time.Second || d > midnight+time.Second {
		t.Errorf("RetryAfter = %s, want about %s", d, midnight)
	}
	rdb := srv.Client(t)
	if ttl := rdb.PTTL(context.Background(), prefix+"{day-2}:day").Val(); ttl < midnight+23*time.Hour {
		t.Errorf("the stop expires in %s, want a day after it ends", ttl)
	}
}

// Announced figures tighten the configured budget, never loosen it.
func TestAnnouncedFiguresTighten(t *testing.T) {
	srv := startRedis(t)
	l := redislimit.New(srv.Client(t), redislimit.WithPrefix(uniquePrefix(t)), redislimit.WithBudget(4, 10*time.Second))
	l.Observe("loc-1", leadway.RateLimit{Max: 1000, Interval: time.Second, Remaining: -1, DailyRemaining: -1, DailyLimit: -1})
	for range 4 {
		if err := l.Wait(within(2*time.Second), "loc-1"); err != nil {
			t.Fatal(err)
		}
	}
	wantSlotPastDeadline(t, l.Wait(within(time.Second), "loc-1"), 9*time.Second, 10100*time.Millisecond)
	l.Observe("loc-2", leadway.RateLimit{Max: 2, Interval: 5 * time.Second, Remaining: -1, DailyRemaining: -1, DailyLimit: -1})
	for range 2 {
		if err := l.Wait(within(2*time.Second), "loc-2"); err != nil {
			t.Fatal(err)
		}
	}
	wantSlotPastDeadline(t, l.Wait(within(time.Second), "loc-2"), 4*time.Second, 5100*time.Millisecond)
}

// A caller that gives up frees its booked slot for the others.
func TestCanceledWaitFreesItsSlot(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	prefix := uniquePrefix(t)
	l := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(1, 10*time.Second))
	if err := l.Wait(context.Background(), "loc-1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- l.Wait(ctx, "loc-1") }()
	key := prefix + "{loc-1}:log"
	for rdb.ZCard(context.Background(), key).Val() != 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := rdb.ZCard(context.Background(), key).Val(); n != 1 {
		t.Errorf("%d bookings left, want the one sent", n)
	}
}

// Redis dies mid-run: callers keep going on the fallback at its share of
// the budget (never the whole), the switch is logged, and the limiter goes
// back to Redis when it returns.
func TestRedisGoesAwayAndComesBack(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	prefix := uniquePrefix(t)
	var logs syncBuffer
	l := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(20, 10*time.Second),
		redislimit.WithFallbackShare(0.25), redislimit.WithTimeout(50*time.Millisecond),
		redislimit.WithRetryEvery(100*time.Millisecond),
		redislimit.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := l.Wait(context.Background(), "loc-1"); err != nil || l.Fallback() {
		t.Fatalf("Wait = %v, fallback %v; want Redis", err, l.Fallback())
	}
	srv.Stop()

	// The fallback holds a quarter of 20, less the send just made through
	// Redis, which still counts at the API: 4 calls, then a wait of a window.
	for i := range 4 {
		if err := l.Wait(within(time.Second), "loc-1"); err != nil {
			t.Fatalf("call %d with Redis down: %v", i, err)
		}
	}
	if !l.Fallback() {
		t.Error("Fallback() = false with Redis down")
	}
	wantSlotPastDeadline(t, l.Wait(within(time.Second), "loc-1"), 9*time.Second, 10100*time.Millisecond)
	if !strings.Contains(logs.String(), "level=WARN msg=\"redislimit: Redis unreachable; limiting on this process's share of the budget until it returns\"") ||
		!strings.Contains(logs.String(), "share=0.25") {
		t.Errorf("log = %q, want a warning about the switch", logs.String())
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for l.Fallback() {
		if time.Now().After(deadline) {
			t.Fatal("still on the fallback 10s after Redis returned")
		}
		time.Sleep(20 * time.Millisecond)
		_ = l.Wait(within(20*time.Millisecond), "loc-2") // each call may try Redis
	}
	if n := rdb.ZCard(context.Background(), prefix+"{loc-2}:log").Val(); n != 1 {
		t.Errorf("%d bookings in the restarted Redis, want the call that found it back", n)
	}
	// The fallback's sends of the last window went into the fleet's log.
	fb := 0
	for _, m := range rdb.ZRange(context.Background(), prefix+"{loc-1}:log", 0, -1).Val() {
		if strings.Contains(m, ":fb:") {
			fb++
		}
	}
	if fb != 4 {
		t.Errorf("%d of the fallback's sends in the log once Redis was back, want its 4", fb)
	}
	if !strings.Contains(logs.String(), "level=INFO msg=\"redislimit: Redis is back; sharing the budget through it again\"") {
		t.Errorf("log = %q, want a line about the return", logs.String())
	}
}

// A Redis that accepts connections and never answers is bounded by the
// timeout: callers go on with the fallback instead of hanging.
func TestSilentRedisDoesNotStallCallers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { <-done; c.Close() })
		}
	}()
	defer func() { ln.Close(); close(done); conns.Wait() }()
	rdb := redisClient(ln.Addr().String())
	defer rdb.Close()
	l := redislimit.New(rdb, redislimit.WithTimeout(50*time.Millisecond), redislimit.WithLogger(slog.New(slog.DiscardHandler)))
	// The context allows 5s; a limiter stuck on Redis would return its
	// deadline error instead of nil.
	if err := l.Wait(within(5*time.Second), "loc-1"); err != nil || !l.Fallback() {
		t.Errorf("Wait = %v, fallback %v; want the fallback's slot", err, l.Fallback())
	}
}

// An answer moves this process's oldest unanswered booking to its time, less
// the margin, which each booking's measure adds back: later when the answer
// came after the send plus the margin, earlier when it came before.
func TestAnswerMovesTheBooking(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	for _, tc := range []struct {
		name   string
		margin time.Duration
		delay  time.Duration
	}{
		{"late answer", 25 * time.Millisecond, 100 * time.Millisecond},
		{"answer within the margin", 500 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			l := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(1, 10*time.Second),
				redislimit.WithSafetyMargin(tc.margin))
			if err := l.Wait(context.Background(), "loc-1"); err != nil {
				t.Fatal(err)
			}
			key := prefix + "{loc-1}:log"
			before := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Val()
			time.Sleep(tc.delay)
			l.Observe("loc-1", leadway.RateLimit{Max: 1, Interval: 10 * time.Second, Remaining: 0, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1})
			after := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Val()
			moved := time.Duration(after[0].Score-before[0].Score) * time.Microsecond
			if lo := tc.delay - tc.margin; len(before) != 1 || len(after) != 1 || after[0].Member != before[0].Member ||
				moved < lo || moved > lo+50*time.Millisecond {
				t.Errorf("booking before %v, after the answer %v (moved %s); want it moved by %s to %s", before, after, moved, lo, lo+50*time.Millisecond)
			}
			// The next slot is a window after the answer, whatever the margin.
			wantSlotPastDeadline(t, l.Wait(within(time.Second), "loc-1"), 9950*time.Millisecond, 10050*time.Millisecond)
		})
	}
}

// Bookings still waiting are measured from the bookings before them when
// their slot comes. With more waiters than the budget, the log must keep
// those: here the first request's answer comes late, and the next request
// must wait a window after that answer, not after the first request's send.
func TestWaitersAreMeasuredFromLateAnswers(t *testing.T) {
	srv := startRedis(t)
	const window, late = 500 * time.Millisecond, 150 * time.Millisecond
	l := redislimit.New(srv.Client(t), redislimit.WithPrefix(uniquePrefix(t)), redislimit.WithBudget(1, window))
	start := time.Now()
	if err := l.Wait(context.Background(), "loc-1"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	released := make([]time.Duration, 3)
	for i := range released {
		wg.Go(func() {
			// Booked in order: the second waits for the first, and so on.
			time.Sleep(time.Duration(i) * 20 * time.Millisecond)
			if err := l.Wait(within(5*time.Second), "loc-1"); err != nil {
				t.Error(err)
			}
			released[i] = time.Since(start)
		})
	}
	time.Sleep(late)
	answered := time.Since(start)
	l.Observe("loc-1", leadway.RateLimit{Max: 1, Interval: window, Remaining: 0, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1})
	wg.Wait()
	// Each waiter's release is seen late by however long its goroutine took
	// to run, never early, so each is checked against its own bound: the
	// waiter i slots after the late answer, one window apart.
	for i, r := range released {
		if want := answered + time.Duration(i+1)*window; r < want {
			t.Errorf("waiter %d went %s after the late answer; want at least %d windows (%s)", i, r-answered, i+1, want-answered)
		}
	}
}

// Only a booking whose slot has come takes an answer's time. Here one
// process observes a response it has no send for (its client observed a
// request it did not book, say) while its only booking waits behind another
// process's two sends; those are answered late. Moving the waiting booking
// to that answer would put it before them in the log, measure it from
// nothing, and send it a window after their sends instead of after their
// answers.
func TestAnswerLeavesWaitingBookings(t *testing.T) {
	srv := startRedis(t)
	const window, late = 300 * time.Millisecond, 100 * time.Millisecond
	prefix := uniquePrefix(t)
	rl := leadway.RateLimit{Max: 2, Interval: window, Remaining: 0, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1}
	p, q := redislimit.New(srv.Client(t), redislimit.WithPrefix(prefix), redislimit.WithBudget(2, window)),
		redislimit.New(srv.Client(t), redislimit.WithPrefix(prefix), redislimit.WithBudget(2, window))
	start := time.Now()
	for range 2 {
		if err := q.Wait(context.Background(), "loc-1"); err != nil {
			t.Fatal(err)
		}
	}
	released := make(chan time.Duration, 1)
	go func() {
		if err := p.Wait(within(5*time.Second), "loc-1"); err != nil {
			t.Error(err)
		}
		released <- time.Since(start)
	}()
	time.Sleep(20 * time.Millisecond) // p's call is booked and waiting
	p.Observe("loc-1", rl)
	time.Sleep(late - 20*time.Millisecond)
	answered := time.Since(start)
	q.Observe("loc-1", rl)
	q.Observe("loc-1", rl)
	if got := <-released; got < answered+window {
		t.Errorf("the waiting call went %s after the start; want a window (%s) after the answers at %s", got, window, answered)
	}
}

// Without Retry-After, a spent daily budget stops the location until
// midnight UTC on Redis's clock, not the process's: the stop is exactly a
// day boundary of Redis's TIME.
func TestDailyStopUsesRedisClock(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	prefix := uniquePrefix(t)
	l := redislimit.New(rdb, redislimit.WithPrefix(prefix))
	if err := l.Wait(context.Background(), "loc-1"); err != nil {
		t.Fatal(err)
	}
	l.Observe("loc-1", leadway.RateLimit{DailyLimit: 200_000, DailyRemaining: 0, RetryAfter: -1, Max: -1, Remaining: -1, Interval: -1})
	until, err := rdb.HGet(context.Background(), prefix+"{loc-1}:day", "until").Int64()
	if err != nil {
		t.Fatal(err)
	}
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	const day = int64(24 * time.Hour / time.Microsecond)
	if until%day != 0 || until <= now.UnixMicro() || until-now.UnixMicro() > day {
		t.Errorf("the stop ends at %d µs, want Redis's next midnight UTC after %d", until, now.UnixMicro())
	}
}

// A wiped log (FLUSHALL, a restart without data) is noticed: the sends it
// held are still in the API's window, so the next booking waits a whole
// window, for every process of the fleet, rather than spend a new burst
// on top of them.
func TestLostLogHoldsOffAWindow(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	prefix := uniquePrefix(t)
	const window = time.Second
	a := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(5, window))
	for range 5 {
		if err := a.Wait(within(2*time.Second), "loc-1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	// a saw the log's epoch: it notices the loss and holds off a window,
	// and a tenth for sends still on their way to the API.
	hold := window + window/10
	wantSlotPastDeadline(t, a.Wait(within(300*time.Millisecond), "loc-1"), hold-100*time.Millisecond, hold+50*time.Millisecond)
	// A process that never saw the old log follows the hold.
	b := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(5, window))
	wantSlotPastDeadline(t, b.Wait(within(300*time.Millisecond), "loc-1"), hold-200*time.Millisecond, hold+50*time.Millisecond)
	// Another location, never booked, is not held.
	if err := b.Wait(within(2*time.Second), "loc-2"); err != nil {
		t.Errorf("a location without a lost log: %v", err)
	}
}
