package leadway

import (
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
	keepUntil    time.Time
	// log holds the send times booked for this location, ascending: those
	// past (sent, or counted for someone else) and those still ahead, each
	// with the waiter it belongs to.
	log []slot
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
// spent, counted at one time.
type slot struct {
	at time.Time
	w  *waiter // nil once sent, or for requests counted for others
	// end counts the requests booked for the location up to and including
	// this entry, from the location's first: "the request max places
	// before" is a search on it, however many requests an entry stands for.
	end int64
	n   int64 // the requests this entry stands for: 1, or more for others
	// answered: at is the time an answer came back, by when the server had
	// surely counted the request; otherwise the time it was sent.
	answered bool
}

// latest is when the server has surely counted the request.
func (s slot) latest(margin time.Duration) time.Time {
	if s.answered {
		return s.at
	}
	return s.at.Add(margin)
}

// endBefore is the end of the entry before index i.
func (loc *location) endBefore(i int) int64 {
	if i == 0 {
		return loc.startEnd
	}
	return loc.log[i-1].end
}

// push appends s to the log.
func (loc *location) push(s slot) {
	s.end = loc.endBefore(len(loc.log)) + s.n
	if s.w != nil {
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

// insertAt puts s at index i, and moves the entries behind it one place
// and s.n requests back. It costs the entries behind i.
func (loc *location) insertAt(i int, s slot) {
	s.end = loc.endBefore(i) + s.n
	loc.grow()
	loc.log = slices.Insert(loc.log, i, s)
	loc.shift(i+1, 1, s.n)
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
	n := loc.log[i].n
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

// insertPast puts n answered requests counted at time at, at or before
// now, into the ascending log, as one entry, after those at the same time.
func (loc *location) insertPast(at time.Time, n int64) {
	loc.insertAt(loc.firstAfter(at, true), slot{at: at, n: n, answered: true})
}

// firstAfter returns the index of the first entry later than t. It gallops
// from the end of the log (fromBack) or from its start, then bisects, so
// it costs the logarithm of the distance from that end, not of the log:
// the times asked for lie near one end (now near the end, a window ago
// near the start).
func (loc *location) firstAfter(t time.Time, fromBack bool) int {
	return gallop(len(loc.log), func(i int) bool { return loc.log[i].at.After(t) }, fromBack)
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

// next returns the earliest time the request at index i of the log (or a
// new one, for i == len(log)) may be sent: not before now or the request
// before it, and at least interval plus the margin after the request max
// places before it, for both budgets.
func (loc *location) next(i int, now time.Time) time.Time {
	cur := noCursors
	return loc.nextAt(i, now, &cur)
}

// cursors remember, for each budget, the entry found for the request max
// places before the last one asked for, so that replanning the waiters in
// order moves a cursor instead of searching the log for each.
type cursors [2]int

var noCursors = cursors{-1, -1}

// nextAt is next with cursors from the previous, lower index.
func (loc *location) nextAt(i int, now time.Time, cur *cursors) time.Time {
	at := now
	if i > 0 && loc.log[i-1].at.After(at) {
		at = loc.log[i-1].at
	}
	pos := loc.endBefore(i) + 1
	for b, budget := range [2]struct {
		max      int
		interval time.Duration
	}{{loc.max, loc.interval}, {loc.ceilMax, loc.ceilInterval}} {
		if budget.max <= 0 {
			continue
		}
		q := pos - int64(budget.max)
		if q <= loc.startEnd {
			continue // that request is not in the log
		}
		k := cur[b]
		if k < 0 {
			k = loc.entryAt(q)
		}
		for k >= 0 && k < len(loc.log) && loc.log[k].end < q {
			k++
		}
		if k < 0 || k >= len(loc.log) {
			cur[b] = -1
			continue
		}
		cur[b] = k
		if t := loc.counted(k, SafetyMargin(budget.interval)).Add(budget.interval); t.After(at) {
			at = t
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
//
// Every entry before scan is answered, at or before log[k]'s time, so the
// search stops there: it looks at the requests in flight, however dense
// the log.
func (loc *location) counted(k int, margin time.Duration) time.Time {
	t := loc.log[k].latest(margin)
	floor := loc.log[k].at.Add(-margin)
	for j := k - 1; j >= loc.scan && loc.log[j].at.After(floor); j-- {
		if l := loc.log[j].latest(margin); l.After(t) {
			t = l
		}
	}
	return t
}

// sentBetween counts the requests the log holds in (since, now]: two
// searches near the ends of the log, however long it is.
func (loc *location) sentBetween(since, now time.Time) int64 {
	return loc.endBefore(loc.firstAfter(now, true)) - loc.endBefore(loc.firstAfter(since, false))
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

// keepWider makes the log keep what both the figures just adopted and the
// ones before need, for a whole window of the wider.
func (loc *location) keepWider(now time.Time) {
	loc.keepMax = max(loc.keepMax, loc.max)
	loc.keepInterval = max(loc.keepInterval, loc.interval)
	loc.keepUntil = now.Add(loc.keepInterval + SafetyMargin(loc.keepInterval))
}

// trim drops the sends that no longer bear on any booking, under the
// figures the log keeps: those older than a window, and those more than
// max places behind the last send.
//
// It costs the entries it drops, so Wait runs it every time: the log then
// holds about a window's worth, however large the budget.
func (loc *location) trim(now time.Time) {
	if now.After(loc.keepUntil) {
		loc.keepMax = max(loc.max, loc.ceilMax)
		loc.keepInterval = max(loc.interval, loc.ceilInterval)
	}
	horizon := now.Add(-loc.keepInterval - SafetyMargin(loc.keepInterval))
	// Waiters are at the end of the log: requests more than keepMax places
	// before all of them count for no booking.
	limit := loc.endBefore(len(loc.log)) - int64(loc.waiters) - int64(loc.keepMax)
	drop := 0
	for drop < len(loc.log) {
		s := loc.log[drop]
		if s.w != nil || (s.end > limit && s.at.After(horizon)) {
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
