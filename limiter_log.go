package leadway

import (
	"math"
	"slices"
	"sort"
	"time"
)

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
	// keepMax and keepInterval are what the log keeps: the largest figures
	// the location has had since keepUntil's window began, so that figures
	// that loosen again still see every send that bears on them. Once a
	// whole old window has passed under the current figures, they shrink
	// back to those.
	keepMax      int
	keepInterval time.Duration
	keepUntil    int64 // a log time
	// log holds the send times booked for this location, ascending: those
	// past (sent, or counted for someone else) and those still ahead, each
	// with the waiter it belongs to. Its times are log times: nanoseconds
	// from epoch (see rel). Wait and Observe turn now into one once, and
	// the log's methods take and return log times.
	log   []slot
	epoch time.Time
	// arr is the whole array log lies in (see grow).
	arr []slot
	// off is the number of entries trimmed from the front of the log ever:
	// an entry's index plus off is its lasting position, which waiters
	// keep. startEnd is the end of the last trimmed entry.
	off      int
	startEnd int64
	waiters  int
	// stale, when not 0, is one more than the index from which waiters'
	// slots are stale: a caller before them left (see planned).
	stale int
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

// slot is an entry of the log: one request, or the requests someone else
// spent, counted at one time. A log holds a window of sends, a million
// for a large budget, so an entry is kept to 32 bytes: its time as
// nanoseconds from the location's epoch, not a 24-byte time.Time, and the
// requests it stands for as the step from the entry before in end.
type slot struct {
	at int64   // nanoseconds from the location's epoch (see rel)
	w  *waiter // nil once sent, or for requests counted for others
	// end counts the requests booked for the location up to and including
	// this entry, from the location's first: "the request max places
	// before" is a search on it, however many requests an entry stands for.
	end int64
	// answered: at is the time an answer came back, by when the server had
	// surely counted the request; otherwise the time it was sent.
	answered bool
}

// rel returns t as a log time: nanoseconds from the epoch, by the
// monotonic clock where both times carry it.
func (loc *location) rel(t time.Time) int64 { return int64(t.Sub(loc.epoch)) }

// later returns log time at moved by d, held within int64: a budget's
// interval may be as long as a time.Duration holds, and a time past the
// bounds must stay past them, not wrap around.
func later(at int64, d time.Duration) int64 {
	s := at + int64(d)
	switch {
	case d > 0 && s < at:
		return math.MaxInt64
	case d < 0 && s > at:
		return math.MinInt64
	}
	return s
}

// span is interval and its safety margin, held within a time.Duration.
func span(interval time.Duration) time.Duration {
	return time.Duration(later(int64(interval), SafetyMargin(interval)))
}

// latest is when the server has surely counted the request, as a log time.
func (s slot) latest(margin time.Duration) int64 {
	if s.answered {
		return s.at
	}
	return s.at + int64(margin)
}

// endBefore is the end of the entry before index i.
func (loc *location) endBefore(i int) int64 {
	if i == 0 {
		return loc.startEnd
	}
	return loc.log[i-1].end
}

// push appends one request at log time at to the log, w's when w is not
// nil.
func (loc *location) push(at int64, w *waiter) {
	s := slot{at: at, w: w, end: loc.endBefore(len(loc.log)) + 1}
	if w != nil {
		s.w.pos = loc.off + len(loc.log)
	}
	loc.grow()
	loc.log = append(loc.log, s)
}

// grow makes room for one more entry at the log's end. Trim drops entries
// from the front, so a plain append would copy the window into a new array
// every few hundred sends; while the dropped front holds half the log, the
// log moves down into it instead, and a steady window reuses one array.
func (loc *location) grow() {
	n := len(loc.log)
	if n < cap(loc.log) {
		return
	}
	if front := cap(loc.arr) - cap(loc.log); front >= max(n/2, 1) && cap(loc.arr) <= 4*n+64 {
		copy(loc.arr, loc.log)
		clear(loc.arr[n:]) // the moved entries' waiters may go
		loc.log = loc.arr[:n]
		return
	}
	loc.arr = make([]slot, n+n/2+8)
	copy(loc.arr, loc.log)
	loc.log = loc.arr[:n]
}

// insertAt puts s, standing for n requests, at index i, and moves the
// entries behind it one place and n requests back. It costs the entries
// behind i.
func (loc *location) insertAt(i int, s slot, n int64) {
	s.end = loc.endBefore(i) + n
	loc.grow()
	loc.log = slices.Insert(loc.log, i, s)
	loc.shift(i+1, 1, n)
	if i < loc.scan {
		loc.scan++
	}
	if loc.stale > 0 && i < loc.stale {
		loc.stale++
	}
}

// removeAt drops the entry at index i, and moves the entries behind it one
// place and its requests forward. It costs the entries behind i.
func (loc *location) removeAt(i int) {
	n := loc.log[i].end - loc.endBefore(i)
	loc.log = slices.Delete(loc.log, i, i+1)
	loc.shift(i, -1, -n)
	if i < loc.scan {
		loc.scan--
	}
	if loc.stale > 0 && i < loc.stale-1 {
		loc.stale--
	}
}

// shift moves the entries from index i by places and requests.
func (loc *location) shift(i, places int, requests int64) {
	for j := i; j < len(loc.log); j++ {
		s := &loc.log[j]
		s.end += requests
		if s.w != nil {
			s.w.pos += places
		}
	}
}

// insertPast puts n answered requests counted at log time at, at or
// before now, into the ascending log, as one entry, after those at the
// same time.
func (loc *location) insertPast(at, n int64) {
	loc.insertAt(loc.firstAfter(at, true), slot{at: at, answered: true}, n)
}

// firstAfter returns the index of the first entry later than log time t. It gallops
// from the end of the log (fromBack) or from its start, then bisects, so
// it costs the logarithm of the distance from that end, not of the log:
// the times asked for lie near one end (now near the end, a window ago
// near the start).
func (loc *location) firstAfter(t int64, fromBack bool) int {
	return gallop(len(loc.log), func(i int) bool { return loc.log[i].at > t }, fromBack)
}

// gallop returns the first i in [0, n) for which later(i) holds, or n;
// later must be false and then true along the indexes.
func gallop(n int, later func(int) bool, fromBack bool) int {
	lo, hi := 0, n // the answer lies in [lo, hi]
	if fromBack {
		for step := 1; hi > 0; step *= 2 {
			i := max(n-step, 0)
			if !later(i) {
				lo = i + 1
				break
			}
			hi = i
		}
	} else {
		for step := 1; lo < n; step *= 2 {
			i := min(step-1, n-1)
			if later(i) {
				hi = i
				break
			}
			lo = i + 1
		}
	}
	return lo + sort.Search(hi-lo, func(j int) bool { return later(lo + j) })
}

// entryAt returns the index of the entry that holds request position pos,
// or -1 when that request is not in the log (trimmed, or never booked).
// Positions a budget back lie near the start of a log trimmed to it.
func (loc *location) entryAt(pos int64) int {
	if pos <= loc.startEnd {
		return -1
	}
	i := gallop(len(loc.log), func(i int) bool { return loc.log[i].end >= pos }, false)
	if i == len(loc.log) {
		return -1
	}
	return i
}

// sentBetween counts the requests the log holds in (since, now]: two
// searches near the ends of the log, however long it is.
func (loc *location) sentBetween(since, now int64) int64 {
	return loc.endBefore(loc.firstAfter(now, true)) - loc.endBefore(loc.firstAfter(since, false))
}

// oldestUnanswered returns the index of the oldest send without an answer,
// or -1.
func (loc *location) oldestUnanswered(now int64) int {
	for i := loc.scan; i < len(loc.log); i++ {
		s := loc.log[i]
		if s.at > now {
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

// keepWider makes the log keep what both the figures just adopted and the
// ones before need, for a whole window of the wider.
func (loc *location) keepWider(now int64) {
	loc.keepMax = max(loc.keepMax, loc.max)
	loc.keepInterval = max(loc.keepInterval, loc.interval)
	loc.keepUntil = later(now, span(loc.keepInterval))
}

// trim drops the sends that no longer bear on any booking, under the
// figures the log keeps: those older than a window, and those more than
// max places behind the last send.
//
// It costs the entries it drops, so Wait runs it every time: the log then
// holds about a window's worth, however large the budget.
func (loc *location) trim(now int64) {
	if now > loc.keepUntil {
		loc.keepMax = max(loc.max, loc.ceilMax)
		loc.keepInterval = max(loc.interval, loc.ceilInterval)
	}
	horizon := later(now, -span(loc.keepInterval))
	// Waiters are at the end of the log: requests more than keepMax places
	// before all of them count for no booking.
	limit := loc.endBefore(len(loc.log)) - int64(loc.waiters) - int64(loc.keepMax)
	drop := 0
	for drop < len(loc.log) {
		s := loc.log[drop]
		if s.w != nil || (s.end > limit && s.at > horizon) {
			break
		}
		drop++
	}
	if drop > 0 {
		loc.startEnd = loc.log[drop-1].end
		clear(loc.log[:drop]) // the waiters they pointed at may go
		loc.log = loc.log[drop:]
		loc.off += drop
		loc.scan = max(loc.scan-drop, 0)
		if loc.stale > 0 {
			loc.stale = max(loc.stale-drop, 1)
		}
	}
}
