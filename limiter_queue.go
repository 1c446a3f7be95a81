package leadway

import (
	"context"
	"time"
)

// waiter is a caller whose slot lies ahead. Its entry in the log moves
// when the budget changes or a caller before it leaves.
type waiter struct {
	probe bool // the daily probe: free it if the wait ends without a send
	// pos is the waiter's lasting position in the log (its index plus the
	// location's off), kept current by every insert and removal, so that
	// finding a waiter's slot never searches the log.
	pos int
	// wake is signalled, without blocking, when the slot moved earlier;
	// a slot that moved later is found when the old one comes.
	wake chan struct{}
}

// await waits until w's slot comes, as it moves, or ctx ends; the slot
// was first booked wait from now.
func (l *slidingLimiter) await(ctx context.Context, loc *location, w *waiter, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-w.wake:
		case <-ctx.Done():
		}
		l.mu.Lock()
		if err := ctx.Err(); err != nil {
			loc.leave(w, false)
			l.mu.Unlock()
			return err
		}
		now := loc.rel(l.now())
		at := loc.slotOf(w, now)
		if at <= now {
			loc.leave(w, true)
			l.mu.Unlock()
			return nil
		}
		if err := pastDeadline(ctx, time.Duration(at-now)); err != nil {
			loc.leave(w, false)
			l.mu.Unlock()
			return err
		}
		l.mu.Unlock()
		timer.Reset(time.Duration(at - now))
	}
}

// indexOf returns the index of w's entry in the log.
func (loc *location) indexOf(w *waiter) int {
	i := w.pos - loc.off
	if i < 0 || i >= len(loc.log) || loc.log[i].w != w {
		panic("leadway: limiter lost a waiter") // unreachable: every move keeps pos
	}
	return i
}

// slotOf returns w's slot as a log time, replanned first if a caller
// before it left.
func (loc *location) slotOf(w *waiter, now int64) int64 {
	loc.planned(now)
	return loc.log[loc.indexOf(w)].at
}

// planned replans the waiters whose slots went stale when a caller before
// them left. Leaving only marks them: a storm of callers giving up (a
// deadline shared by a whole queue) then costs one replan, when someone
// next needs a slot, not one per caller.
func (loc *location) planned(now int64) {
	if loc.stale > 0 {
		from := loc.stale - 1
		loc.stale = 0
		loc.replan(now, from)
	}
}

// leave ends w's wait: sent keeps its slot in the log as a send at the
// booked time (SafetyMargin covers a late wake-up); otherwise the slot is
// freed, and so is the daily probe it carried, and the waiters behind it
// move up.
func (loc *location) leave(w *waiter, sent bool) {
	loc.waiters--
	if !sent && w.probe && loc.stopped {
		loc.probeUntil = time.Time{}
	}
	i := loc.indexOf(w)
	if sent {
		loc.log[i].w = nil
		loc.scan = min(loc.scan, i)
		return
	}
	loc.removeAt(i)
	// The waiters behind may move up. Wake the first of them: it replans
	// them all when it looks at its slot (or leaves too, and wakes the
	// next); until then a stale slot is only ever later than the true one.
	if loc.stale == 0 || i < loc.stale-1 {
		loc.stale = i + 1
	}
	for j := i; j < len(loc.log); j++ {
		if w := loc.log[j].w; w != nil {
			notify(w)
			break
		}
	}
}

// notify wakes w without blocking; a signal already pending covers it.
func notify(w *waiter) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// replan books the waiting requests from index from on again, in order,
// after the budget changed or the log did, and wakes those whose slot
// came earlier. It costs the entries from there on, and allocates nothing.
func (loc *location) replan(now int64, from int) {
	if from < loc.stale {
		loc.stale = 0 // this replan covers the stale ones too
	}
	if loc.waiters == 0 {
		return
	}
	// Waiters are at the end of the log: start at the first of them.
	first, found := len(loc.log), 0
	for found < loc.waiters && first > from {
		first--
		if loc.log[first].w != nil {
			found++
		}
	}
	cur := noCursors
	for i := first; i < len(loc.log); i++ {
		s := &loc.log[i]
		if s.w == nil {
			continue
		}
		at := loc.nextAt(i, now, &cur)
		if at == s.at {
			continue
		}
		earlier := at < s.at
		s.at = at
		if earlier {
			notify(s.w)
		}
	}
}
