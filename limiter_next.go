package leadway

import "time"

// next returns the earliest log time the request at index i of the log (or a
// new one, for i == len(log)) may be sent: not before now or the request
// before it, and at least interval plus the margin after the request max
// places before it, for both budgets.
func (loc *location) next(i int, now int64) int64 {
	cur := noCursors
	return loc.nextAt(i, now, &cur)
}

// cursors remember, for each budget, the entry found for the request max
// places before the last one asked for, so that replanning the waiters in
// order moves a cursor instead of searching the log for each.
type cursors [2]int

var noCursors = cursors{-1, -1}

// nextAt is next with cursors from the previous, lower index.
func (loc *location) nextAt(i int, now int64, cur *cursors) int64 {
	at := now
	if i > 0 {
		at = max(at, loc.log[i-1].at)
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
		at = max(at, later(loc.counted(k, SafetyMargin(budget.interval)), budget.interval))
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
func (loc *location) counted(k int, margin time.Duration) int64 {
	t := loc.log[k].latest(margin)
	floor := loc.log[k].at - int64(margin)
	for j := k - 1; j >= loc.scan && loc.log[j].at > floor; j-- {
		t = max(t, loc.log[j].latest(margin))
	}
	return t
}
