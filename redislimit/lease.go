package redislimit

import (
	"context"
	_ "embed"
	"time"
)

// A booking still waiting for its slot holds a lease, which the waiting
// process renews: a process that dies stops renewing, and its unsent
// bookings vanish within about a lease instead of blocking the location
// until their slots pass. A sent booking has no lease: it was spent.

// lease is how long a waiting booking lives without renewal: a window, at
// least a second.
func (l *Limiter) lease(b budget) time.Duration {
	return max(b.interval, time.Second)
}

// firstLease is the lease of a booking until its process has its reply: a
// booking whose caller gave up on the reply (Redis stalled past the
// timeout) lapses this soon after Redis runs it. It is never longer than a
// lease.
func (l *Limiter) firstLease(b budget) time.Duration { return min(2*l.cfg.timeout, l.lease(b)) }

// waitSlot waits until a booked slot comes. Every third of a lease, and
// when the slot comes, it checks the booking again in Redis: that renews
// its lease, drops bookings whose process died, and moves the slot earlier
// when bookings before it left or later when answers came back later than
// the margin assumed. gone reports that the booking vanished (Redis lost
// it, or its own lease lapsed), for the caller to book again.
func (l *Limiter) waitSlot(ctx context.Context, keys []string, member string, b budget) (err error, gone bool, redisErr error) {
	lease := l.lease(b)
	var wait time.Duration
	// The reply's first lease is short: check, and so renew, at once.
	for step := time.Duration(0); ; step = min(wait, lease/3) {
		timer := time.NewTimer(step)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return l.cancelBooking(ctx, keys, member), false, nil
		}
		var left int64
		err := l.call(ctx, func(ctx context.Context) (err error) {
			left, err = recheckScript.Run(ctx, l.rdb, []string{keys[0], keys[3]},
				b.max, b.interval.Microseconds(), l.cfg.max, l.cfg.interval.Microseconds(),
				l.cfg.margin.Microseconds(), member, lease.Microseconds()).Int64()
			return err
		})
		switch {
		case err != nil && ctx.Err() != nil:
			return l.cancelBooking(ctx, keys, member), false, nil
		case err != nil:
			// Redis cannot be asked: the call waits on the fallback, which
			// counts it, rather than send on a slot nobody checks.
			return nil, false, err
		case left < 0:
			return nil, true, nil
		}
		wait = time.Duration(left) * time.Microsecond
		if wait == 0 {
			return nil, false, nil
		}
		if err := pastDeadline(ctx, wait); err != nil {
			l.cancelBooking(ctx, keys, member)
			return err, false, nil
		}
	}
}
