package leadway

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
// locations in use, not every location ever seen. max and interval must be
// positive; otherwise every Wait returns an error saying so.
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

// location is one key's budget: its window and its log of send times.
type location struct {
	// max per interval is the budget responses announced; ceilMax per
	// ceilInterval the one given to NewLimiter (zero for the default
	// limiter). Every window keeps to both.
	max          int
	interval     time.Duration
	ceilMax      int
	ceilInterval time.Duration
	touched      time.Time // the last Wait or Observe
	// keepMax and keepInterval are the largest figures the location has
	// had. The log keeps what they need, so that figures that loosen again
	// still see every send that bears on them.
	keepMax      int
	keepInterval time.Duration
	// log holds the send times booked for this location, ascending: those
	// past (sent, or counted for someone else) and those still ahead, each
	// with the waiter it belongs to.
	log     []slot
	waiters int
	// scan is where the search for the oldest unanswered send starts:
	// every send before it has its answer.
	scan int

	// The daily stop: while stopped, calls are refused until stopUntil;
	// then one probe goes, and the others are refused until probeUntil or a
	// response.
	stopped    bool
	stopUntil  time.Time
	probeUntil time.Time
}

type slot struct {
	at time.Time
	w  *waiter // nil once sent, or for requests counted for others
	// answered: at is the time an answer came back, by when the server had
	// surely counted the request; otherwise the time it was sent.
	answered bool
}

type waiter struct {
	probe bool // the daily probe: free it if the wait ends without a send
	// moved is closed when the waiter's slot was booked again, after the
	// budget changed or an earlier waiter left.
	moved chan struct{}
}

func (l *slidingLimiter) location(key string, now time.Time) *location {
	loc := l.locs[key]
	if loc == nil {
		loc = &location{max: l.max, interval: l.interval}
		if l.announcedMax > 0 {
			loc.max, loc.interval = l.announcedMax, l.announcedInterval
		}
		if !l.adaptive {
			loc.ceilMax, loc.ceilInterval = l.max, l.interval
		}
		loc.keepMax, loc.keepInterval = max(loc.max, loc.ceilMax), max(loc.interval, loc.ceilInterval)
		l.locs[key] = loc
	}
	loc.touched = now
	return loc
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
	loc.trim(now)
	at := loc.next(len(loc.log), now)
	if !at.After(now) {
		loc.log = append(loc.log, slot{at: now})
		loc.takeProbe(now)
		l.mu.Unlock()
		return nil
	}
	if err := pastDeadline(ctx, at.Sub(now)); err != nil {
		l.mu.Unlock()
		return err
	}
	w := &waiter{moved: make(chan struct{}), probe: loc.takeProbe(now)}
	loc.log = append(loc.log, slot{at: at, w: w})
	loc.waiters++
	moved := w.moved
	l.mu.Unlock()

	for {
		timer := time.NewTimer(at.Sub(now))
		select {
		case <-timer.C:
		case <-moved:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			l.mu.Lock()
			loc.leave(w, l.now(), false)
			l.mu.Unlock()
			return ctx.Err()
		}
		l.mu.Lock()
		now = l.now()
		at = loc.slotOf(w)
		if !at.After(now) {
			loc.leave(w, now, true)
			l.mu.Unlock()
			return nil
		}
		if err := pastDeadline(ctx, at.Sub(now)); err != nil {
			loc.leave(w, now, false)
			l.mu.Unlock()
			return err
		}
		moved = w.moved
		l.mu.Unlock()
	}
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

// next returns the earliest time the request at index i of the log may be
// sent: not before now or the request before it, and at least interval
// plus the margin after the request max places before it, for both
// budgets.
func (loc *location) next(i int, now time.Time) time.Time {
	at := now
	if i > 0 && loc.log[i-1].at.After(at) {
		at = loc.log[i-1].at
	}
	for _, b := range [2]struct {
		max      int
		interval time.Duration
	}{{loc.max, loc.interval}, {loc.ceilMax, loc.ceilInterval}} {
		if b.max > 0 && i >= b.max {
			if t := loc.counted(i-b.max, SafetyMargin(b.interval)).Add(b.interval); t.After(at) {
				at = t
			}
		}
	}
	return at
}

// counted returns the latest time by which the server may have counted the
// request at index k of the log, or one before it within a margin: an
// answered request by its answer, another by its send plus the margin. The
// max-th latest of these times over the whole log is never later (at least
// one of the max latest sits at or before k, and those further back than a
// margin count by then), so a window measured from it holds at most max.
func (loc *location) counted(k int, margin time.Duration) time.Time {
	t := loc.log[k].latest(margin)
	floor := loc.log[k].at.Add(-margin)
	for j := k - 1; j >= 0 && loc.log[j].at.After(floor); j-- {
		if l := loc.log[j].latest(margin); l.After(t) {
			t = l
		}
	}
	return t
}

// latest is when the server has surely counted the request.
func (s slot) latest(margin time.Duration) time.Time {
	if s.answered {
		return s.at
	}
	return s.at.Add(margin)
}

// replan books every waiting request again, in order, after the budget
// changed or the log did.
func (loc *location) replan(now time.Time) {
	// Waiters are at the end of the log: start at the first of them.
	first, found := len(loc.log), 0
	for found < loc.waiters && first > 0 {
		first--
		if loc.log[first].w != nil {
			found++
		}
	}
	for i := first; i < len(loc.log); i++ {
		s := &loc.log[i]
		if s.w == nil {
			continue
		}
		if at := loc.next(i, now); !at.Equal(s.at) {
			s.at = at
			close(s.w.moved)
			s.w.moved = make(chan struct{})
		}
	}
}

func (loc *location) slotOf(w *waiter) time.Time {
	for i := len(loc.log) - 1; i >= 0; i-- {
		if loc.log[i].w == w {
			return loc.log[i].at
		}
	}
	panic("leadway: limiter lost a waiter") // unreachable: waiters leave only through leave
}

// leave ends w's wait: sent keeps its slot in the log as a send at the
// booked time (SafetyMargin covers a late wake-up); otherwise the slot is
// freed, and so is the daily probe it carried, and the waiters behind it
// move up.
func (loc *location) leave(w *waiter, now time.Time, sent bool) {
	loc.waiters--
	if !sent && w.probe && loc.stopped {
		loc.probeUntil = time.Time{}
	}
	for i := len(loc.log) - 1; i >= 0; i-- {
		if loc.log[i].w != w {
			continue
		}
		if sent {
			loc.log[i].w = nil
			loc.scan = min(loc.scan, i)
			return
		}
		loc.log = append(loc.log[:i], loc.log[i+1:]...)
		if i < loc.scan {
			loc.scan--
		}
		loc.replan(now)
		return
	}
}

// oldestUnanswered returns the index of the oldest send without an answer,
// or -1.
func (loc *location) oldestUnanswered(now time.Time) int {
	for i := loc.scan; i < len(loc.log); i++ {
		s := loc.log[i]
		if s.at.After(now) {
			break
		}
		switch {
		case s.w == nil && !s.answered:
			loc.scan = i
			return i
		case s.w == nil && i == loc.scan:
			loc.scan++ // answered: no need to look at it again
		}
	}
	return -1
}

// insertPast puts answered entries at time at, at or before now, into the
// ascending log.
func (loc *location) insertPast(at time.Time, n int) {
	i, _ := slices.BinarySearchFunc(loc.log, at, func(e slot, t time.Time) int {
		if e.at.After(t) {
			return 1
		}
		return -1
	})
	loc.log = slices.Insert(loc.log, i, slices.Repeat([]slot{{at: at, answered: true}}, n)...)
	if i < loc.scan {
		loc.scan += n
	}
}

// trim drops the sends that no longer bear on any booking, under the
// largest figures the location has had: those older than a window, and
// those more than max places behind the first waiter.
//
// It costs the entries it drops, so Wait runs it every time: the log then
// holds about a window's worth, however large the budget.
func (loc *location) trim(now time.Time) {
	horizon := now.Add(-loc.keepInterval - SafetyMargin(loc.keepInterval))
	n := len(loc.log)
	// Waiters are at the end of the log: entries more than keepMax places
	// before all of them count for no booking.
	limit := n - loc.waiters - loc.keepMax
	drop := 0
	for drop < n && loc.log[drop].w == nil && (drop < limit || !loc.log[drop].at.After(horizon)) {
		drop++
	}
	if drop > 0 {
		loc.log = loc.log[drop:]
		loc.scan = max(loc.scan-drop, 0)
	}
}

// daily returns the refusal of a stopped location, or nil when a call may
// go (as the probe, when the stop has run out).
func (loc *location) daily(now time.Time) error {
	if !loc.stopped {
		return nil
	}
	if now.Before(loc.stopUntil) {
		return &RateLimitError{Daily: true, RetryAfter: loc.stopUntil.Sub(now)}
	}
	if now.Before(loc.probeUntil) {
		return &RateLimitError{Daily: true, RetryAfter: loc.probeUntil.Sub(now)}
	}
	return nil
}

// takeProbe records that the call just booked is the probe of a stopped
// location, and reports whether it is.
func (loc *location) takeProbe(now time.Time) bool {
	if loc.stopped {
		loc.probeUntil = now.Add(DailyProbeLease)
		return true
	}
	return false
}

// idle reports whether forgetting the location loses nothing: no waiter, no
// send within a window, no daily stop.
func (loc *location) idle(now time.Time) bool {
	horizon := now.Add(-loc.keepInterval - SafetyMargin(loc.keepInterval))
	if loc.waiters > 0 || loc.stopped || loc.touched.After(horizon) {
		return false
	}
	n := len(loc.log)
	return n == 0 || !loc.log[n-1].at.After(horizon)
}

// sweep forgets idle locations, at most once per sweepEvery.
func (l *slidingLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	evicted := 0
	for key, loc := range l.locs {
		if loc.idle(now) {
			delete(l.locs, key)
			evicted++
		} else {
			loc.trim(now)
		}
	}
	// A map never gives back its buckets: copy it once most of it is gone.
	if evicted > len(l.locs) {
		locs := make(map[string]*location, len(l.locs))
		maps.Copy(locs, l.locs)
		l.locs = locs
	}
}

func (l *slidingLimiter) Observe(key string, rl RateLimit) {
	if l.err != nil || rl == (RateLimit{}) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	loc := l.location(key, now)
	changed := false

	// The daily stop.
	switch {
	case rl.DailyExhausted():
		d := rl.RetryAfter
		if d < 0 {
			d = untilMidnightUTC(now)
		}
		loc.stopped, loc.stopUntil, loc.probeUntil = true, now.Add(d), time.Time{}
	case loc.stopped && !loc.probeUntil.IsZero():
		// The answer to the probe (or to a call after it): the budget is back.
		loc.stopped, loc.stopUntil, loc.probeUntil = false, time.Time{}, time.Time{}
	}

	// The burst window.
	if rl.Max > 0 && rl.Interval > 0 && rl.Interval <= maxAdaptedInterval {
		m, iv := rl.Max, rl.Interval
		l.announcedMax, l.announcedInterval = m, iv
		if m != loc.max || iv != loc.interval {
			loc.max, loc.interval = m, iv
			loc.keepMax, loc.keepInterval = max(loc.keepMax, m), max(loc.keepInterval, iv)
			changed = true
		}
	}

	// An answer came back: the server counted a request by now. The oldest
	// send not yet answered takes the answer's time (which answer belongs
	// to which send does not matter: the k-th answer comes after the k-th
	// request reached the server), so windows are measured from when the
	// server may have counted a request, however long the way there took.
	if i := loc.oldestUnanswered(now); i >= 0 {
		loc.log = slices.Delete(loc.log, i, i+1)
		loc.insertPast(now, 1)
		changed = true
	}

	// Requests someone else spent: the server counted more in its window
	// than this limiter sent lately.
	if rl.Max > 0 && rl.Remaining >= 0 && rl.Remaining < rl.Max {
		used := rl.Max - rl.Remaining
		since := now.Add(-loc.interval - loc.interval/othersSlack)
		ours := 0
		for _, s := range loc.log {
			if !s.at.After(now) && s.at.After(since) {
				ours++
			}
		}
		// A small difference is noise (a request this process sent whose
		// entry was already trimmed, say) and would cost a few callers a
		// whole window: act on a quarter of the budget or more.
		if extra := min(used-ours, loc.max); extra > 0 && 4*extra >= loc.max {
			// They were counted before the answer came: book them as
			// answered now, or so that they leave the window when the
			// answer's Retry-After says room returns.
			at := now
			if rl.RetryAfter >= 0 && !rl.DailyExhausted() {
				at = now.Add(rl.RetryAfter - loc.interval)
				if at.After(now) {
					at = now
				}
			}
			loc.insertPast(at, extra)
			changed = true
		}
	}
	if changed {
		loc.trim(now)
		loc.replan(now)
	}
}
