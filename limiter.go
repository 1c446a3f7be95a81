package leadway

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter keeps calls within a rate budget. The client calls Wait before
// every attempt and Observe after every response, with the request's
// location ID as key, since the vendor counts its budgets per app and
// location. Implement it to share one budget between processes; package
// github.com/leadwaycrm/leadway/redislimit does so through Redis.
type Limiter interface {
	// Wait books a slot for one request for key and returns when that slot
	// has come, so that the caller may send at once. It returns without
	// waiting when no slot can be had in time:
	//
	//   - a [*RateLimitError] with Daily set (and a nil APIError) while the
	//     key's daily budget is spent; once its RetryAfter has passed, one
	//     call is let through as a probe and the others stay refused until
	//     a response for key is observed;
	//   - an error that is both a [*RateLimitError] (Daily false, RetryAfter
	//     the wait) and [context.DeadlineExceeded] when the next free slot
	//     lies past ctx's deadline, so that no caller sleeps into a certain
	//     timeout;
	//   - ctx's error when ctx ends while waiting.
	Wait(ctx context.Context, key string) error
	// Observe passes on the figures a response for key announced: the
	// burst window, the requests left in it, and the daily budget.
	Observe(key string, rl RateLimit)
}

const (
	// maxAdaptedInterval bounds the burst window a limiter adopts from a
	// response, so that a broken or hostile server cannot slow a client to
	// one call a day.
	maxAdaptedInterval = time.Minute
	// maxSafetyMargin caps the margin added to each window; see SafetyMargin.
	maxSafetyMargin = 25 * time.Millisecond
	// DailyProbeLease is how long a daily-budget probe stays out. When no
	// response for the location is observed within it (the probe failed
	// before an answer), the next call becomes the probe.
	DailyProbeLease = time.Minute
	// sweepEvery is how often idle locations are evicted.
	sweepEvery = time.Minute
	// othersSlack widens the span over which a limiter counts its own
	// requests when it compares them with X-RateLimit-Remaining, so that
	// requests still in flight to the server are not mistaken for
	// somebody else's.
	othersSlack = 10 // a tenth of the interval
)

// SafetyMargin is the pause a limiter adds to every window of length
// interval: interval/400, at most 25ms. It covers the gap between a request
// leaving and the server counting it, which varies from request to request,
// and costs 0.25% of the budget.
func SafetyMargin(interval time.Duration) time.Duration {
	return min(interval/400, maxSafetyMargin)
}

// NewLimiter returns an in-process [Limiter] that never lets more than max
// requests per location into any window of length interval, at any
// alignment, and otherwise never makes a request wait: a burst of max goes
// out at once. It keeps, per location, the times of the last max requests
// (a sliding log) and books each caller the earliest slot that keeps every
// window within budget, plus [SafetyMargin]. Callers are served in the
// order they called. A request counts from when it was sent, plus the
// margin, until its answer comes back, and from then on from the answer's
// time, without a margin: by then the server has surely counted it, however
// long the way there took (a burst over new connections can take much
// longer than the margin).
//
// max per interval is a ceiling you choose, for example a share of the
// vendor's budget that leaves room for other processes: the figures
// responses announce (X-RateLimit-Max, X-RateLimit-Interval-Milliseconds)
// can make it stricter, never looser. The client's default limiter, by
// contrast, starts at the vendor's 100 per 10s and follows the announced
// figures both ways.
//
// X-RateLimit-Remaining tells how many requests the server has counted in
// its current window. When that is more than this limiter sent in the last
// interval (and a tenth), by a quarter of the budget or more, the
// difference was spent by someone else, such as
// another process: the limiter books that many requests at the time of the
// answer, or, when the answer carried Retry-After, so that they leave the
// window when it says, and leaves the room to them.
//
// A response with X-RateLimit-Daily-Remaining: 0 stops the location for
// the day; see [Limiter]. The stop ends after the response's Retry-After,
// or at midnight UTC when it gave none (an estimate).
//
// Locations idle for a minute are forgotten, so memory follows the
// locations in use, not every location ever seen. Figures from a server are
// untrusted: a burst figure over [MaxBurstFigure] is ignored, and the
// requests booked for others are one entry however many they are, so no
// answer can make the limiter allocate more than a constant. Each Wait and
// Observe costs the same however many requests the window holds. max and
// interval must be positive; otherwise every Wait returns an error saying
// so.
func NewLimiter(max int, interval time.Duration) Limiter {
	l := newSlidingLimiter(max, interval, false)
	if max <= 0 || interval <= 0 {
		l.err = fmt.Errorf("leadway: NewLimiter(%d, %s): max and interval must be positive", max, interval)
	}
	return l
}

// newAdaptiveLimiter is the client's default limiter: the vendor's budget
// until a response announces the app's own, then that, up or down.
func newAdaptiveLimiter() Limiter {
	return newSlidingLimiter(defaultBurstMax, defaultBurstInterval, true)
}

func newSlidingLimiter(max int, interval time.Duration, adaptive bool) *slidingLimiter {
	return &slidingLimiter{max: max, interval: interval, adaptive: adaptive, locs: make(map[string]*location), now: time.Now}
}

type slidingLimiter struct {
	max      int
	interval time.Duration
	adaptive bool // follow announced figures above max per interval
	err      error
	now      func() time.Time // time.Now; a benchmark of eviction moves it

	mu        sync.Mutex
	locs      map[string]*location
	lastSweep time.Time
	// announced is the burst budget the latest response announced, which
	// new locations start from: the vendor's figures are the same for
	// every location of an app.
	announcedMax      int
	announcedInterval time.Duration
}

func (l *slidingLimiter) Wait(ctx context.Context, key string) error {
	if l.err != nil {
		return l.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	l.sweep(now)
	loc := l.location(key, now)
	if err := loc.daily(now); err != nil {
		l.mu.Unlock()
		return err
	}
	r := loc.rel(now)
	loc.trim(r)
	loc.planned(r)
	at := loc.next(len(loc.log), r)
	if at <= r {
		loc.push(r, nil)
		loc.takeProbe(now)
		l.mu.Unlock()
		return nil
	}
	wait := time.Duration(at - r)
	if err := pastDeadline(ctx, wait); err != nil {
		l.mu.Unlock()
		return err
	}
	w := &waiter{wake: make(chan struct{}, 1), probe: loc.takeProbe(now)}
	loc.push(at, w)
	loc.waiters++
	l.mu.Unlock()
	return l.await(ctx, loc, w, wait)
}

// pastDeadline reports an error when a slot wait from now lies past ctx's
// deadline.
func pastDeadline(ctx context.Context, wait time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return &SlotPastDeadlineError{RateLimitError: &RateLimitError{RetryAfter: wait}}
	}
	return nil
}

// SlotPastDeadlineError is what a [Limiter] returns when the next free slot
// lies past the context's deadline, instead of waiting for a call that
// cannot finish in time. It matches both [*RateLimitError] (with errors.As,
// Daily false and RetryAfter the wait) and [context.DeadlineExceeded] (with
// errors.Is).
type SlotPastDeadlineError struct {
	*RateLimitError
}

func (e *SlotPastDeadlineError) Error() string {
	return fmt.Sprintf("leadway: the next free rate-limit slot, in %s, is past the context deadline", e.RetryAfter)
}

// Unwrap returns the [*RateLimitError] and [context.DeadlineExceeded].
func (e *SlotPastDeadlineError) Unwrap() []error {
	return []error{e.RateLimitError, context.DeadlineExceeded}
}

func (l *slidingLimiter) Observe(key string, rl RateLimit) {
	if l.err != nil || rl == (RateLimit{}) {
		return
	}
	rl = rl.bounded()
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	loc := l.location(key, now)
	loc.observeDaily(rl, now)
	r := loc.rel(now)
	changed := l.observeWindow(loc, rl, r)

	// An answer came back: the server counted a request by now. The oldest
	// send not yet answered takes the answer's time (which answer belongs
	// to which send does not matter: the k-th answer comes after the k-th
	// request reached the server), so windows are measured from when the
	// server may have counted a request, however long the way there took.
	if i := loc.oldestUnanswered(r); i >= 0 {
		loc.removeAt(i)
		loc.insertPast(r, 1)
		changed = true
	}
	if loc.observeOthers(rl, r) {
		changed = true
	}
	if changed {
		loc.trim(r)
		loc.replan(r, 0)
	}
}

// observeWindow adopts the burst window a response announced, within
// maxAdaptedInterval, and reports whether the location's budget changed.
func (l *slidingLimiter) observeWindow(loc *location, rl RateLimit, now int64) bool {
	if rl.Max <= 0 || rl.Interval <= 0 || rl.Interval > maxAdaptedInterval {
		return false
	}
	m, iv := rl.Max, rl.Interval
	l.announcedMax, l.announcedInterval = m, iv
	if m == loc.max && iv == loc.interval {
		return false
	}
	loc.max, loc.interval = m, iv
	loc.keepWider(now)
	return true
}

// observeOthers books the requests someone else spent: the server counted
// more in its window than this limiter sent lately. It reports whether it
// booked any.
func (loc *location) observeOthers(rl RateLimit, now int64) bool {
	if rl.Max <= 0 || rl.Remaining < 0 || rl.Remaining >= rl.Max {
		return false
	}
	used := rl.Max - rl.Remaining
	window := time.Duration(later(int64(loc.interval), loc.interval/othersSlack)) // held within a Duration
	ours := loc.sentBetween(later(now, -window), now)
	// A small difference is noise (a request this process sent whose entry
	// was already trimmed, say) and would cost a few callers a whole
	// window: act on a quarter of the budget or more.
	extra := min(int64(used)-ours, int64(loc.max))
	if extra <= 0 || 4*extra < int64(loc.max) {
		return false
	}
	// They were counted before the answer came: book them as answered
	// now, or so that they leave the window when the answer's Retry-After
	// says room returns.
	at := now
	if rl.RetryAfter >= 0 && rl.RetryAfter < loc.interval && !rl.DailyExhausted() {
		at = later(now, rl.RetryAfter-loc.interval)
	}
	loc.insertPast(at, extra)
	return true
}
