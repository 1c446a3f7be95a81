package redislimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway"
)

// Fallback reports whether the limiter is on its in-process fallback
// because Redis could not be reached.
func (l *Limiter) Fallback() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

// useRedis reports whether this call should go to Redis: always when it is
// up; while it is down, one call every retryEvery tries it, as the trial
// whose success alone switches back.
func (l *Limiter) useRedis() (use, trial bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.down {
		return true, false
	}
	if l.trying || time.Now().Before(l.retryAt) {
		return false, false
	}
	l.trying = true
	return true, true
}

// refusedRetry is how long a process whose Redis refused writes for want
// of memory stays on the fallback before it tries again.
const refusedRetry = 10 * time.Second

// failuresToFall is how many Redis calls in a row must fail before the
// process switches to the fallback: one slow reply does not make it flap.
const failuresToFall = 2

// failed counts a failed Redis call, and switches to the fallback on the
// failuresToFall-th in a row. It reports whether the process is on the
// fallback. The fallback starts with the sends this process made through
// Redis in the last window already booked: they still count at the API, so
// its share applies only to what is left of it.
func (l *Limiter) failed(err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trying = false
	l.failures++
	if refusedWrite(err) {
		// Redis is up but full: a refused write is no slow reply, and
		// trying it again soon only flaps. Keep to this process's share,
		// at once and for longer.
		l.refusedUntil = time.Now().Add(max(l.cfg.retryEvery, refusedRetry))
		l.failures = max(l.failures, failuresToFall)
		if !l.refusedLogged {
			l.refusedLogged = true
			l.cfg.logger.Error("redislimit: Redis refused to write a booking (out of memory): the Redis that keeps budgets must not evict keys "+
				"(maxmemory-policy noeviction) and needs memory to spare; until it has, this process limits on its share of the budget",
				slog.String("error", err.Error()))
		}
	}
	l.retryAt = time.Now().Add(l.cfg.retryEvery)
	if l.refusedUntil.After(l.retryAt) {
		l.retryAt = l.refusedUntil
	}
	if l.down || l.failures < failuresToFall {
		return l.down
	}
	l.down = true
	l.local = l.seededFallback()
	l.fallbackSends = make(map[string][]time.Time)
	l.cfg.logger.Warn("redislimit: Redis unreachable; limiting on this process's share of the budget until it returns",
		slog.String("error", err.Error()), slog.Float64("share", l.cfg.share))
	return true
}

// seededFallback returns a new in-process limiter at this process's share,
// with the sends it made through Redis in the last window booked, as of
// now: later than they were sent, which only errs on the safe side. With
// every process of a fleet of N on a share of 1/N, the fleet's window then
// holds at most the budget.
func (l *Limiter) seededFallback() leadway.Limiter {
	b := l.figures()
	local := leadway.NewLimiter(l.fallbackMax(b.max), b.interval)
	since := time.Now().Add(-b.interval - l.cfg.margin)
	for key, times := range l.recent {
		for _, at := range times {
			if at.Before(since) {
				continue
			}
			// A slot that is not free at once is past this deadline and is
			// not booked: the share is spent.
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			err := local.Wait(ctx, key)
			cancel()
			if err != nil {
				break
			}
		}
	}
	clear(l.recent)
	return local
}

// refusedWrite reports whether Redis answered but refused to write, as it
// does under maxmemory with noeviction: Redis is up, its memory is not.
func refusedWrite(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// recovered records a Redis call that worked; a trial switches back from
// the fallback (a call that began before the switch does not). It reports
// whether the process came back within the last window and retryEvery,
// while other processes may still be on theirs.
func (l *Limiter) recovered(trial bool) (easing bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if trial {
		l.trying = false
	}
	if !l.down {
		l.failures = 0
	}
	if l.down && trial {
		l.down = false
		l.fallbackSends = nil
		l.backAt = time.Now()
		l.cfg.logger.Info("redislimit: Redis is back; sharing the budget through it again")
	}
	return !l.backAt.IsZero() && time.Since(l.backAt) < l.figures().interval+l.cfg.retryEvery
}

// easeBack keeps a call just back on Redis within this process's share as
// well, on the fallback limiter that counted its sends while Redis was
// away: the fleet's log does not yet hold the sends of processes still on
// their fallback.
func (l *Limiter) easeBack(ctx context.Context, key string) error {
	return l.fallback().Wait(ctx, key)
}

// fallback is the in-process limiter, which a switch to it replaces.
func (l *Limiter) fallback() leadway.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.local
}

// waitFallback waits on the in-process fallback, on this process's share
// of the budget. Each send is kept, for the fleet's log once Redis is back.
func (l *Limiter) waitFallback(ctx context.Context, key string) error {
	if err := l.fallback().Wait(ctx, key); err != nil {
		return err
	}
	l.mu.Lock()
	if l.fallbackSends != nil {
		b := l.figures()
		q := append(l.fallbackSends[key], time.Now())
		if n := len(q) - max(b.max, l.cfg.max); n > 0 {
			q = q[n:]
		}
		l.fallbackSends[key] = q
	}
	l.mu.Unlock()
	return nil
}

// backfill writes the sends this process made on the fallback within the
// last window into the fleet's logs, before it books through Redis again,
// so that the fleet counts them. Their times are passed as ages, since
// only Redis's clock orders the log.
func (l *Limiter) backfill(ctx context.Context) error {
	l.mu.Lock()
	sends := l.fallbackSends
	l.fallbackSends = make(map[string][]time.Time)
	l.mu.Unlock()
	b := l.figures()
	keep := max(b.interval, l.cfg.interval) + l.cfg.margin
	for key, times := range sends {
		args := []any{l.cfg.margin.Microseconds(), keep.Microseconds()}
		for _, at := range times {
			if age := time.Since(at); age < keep {
				args = append(args, l.id+":fb:"+strconv.FormatUint(l.seq.Add(1), 36), age.Microseconds())
			}
		}
		if len(args) == 2 {
			continue
		}
		if err := l.call(ctx, func(ctx context.Context) error {
			return backfillScript.Run(ctx, l.rdb, l.keys(key)[:1], args...).Err()
		}); err != nil {
			return fmt.Errorf("redislimit: writing the fallback's sends: %w", err)
		}
	}
	return nil
}
