package redislimit

import (
	"context"
	"fmt"
	"time"

	"github.com/leadwaycrm/leadway"
)

// Observe passes a response's figures on: the announced burst budget
// tightens the configured one for the whole fleet's bookings from this
// process; a spent daily budget stops the location in Redis; the answer to
// this process's daily probe lifts the stop. The fallback sees the same
// figures, scaled to its share. X-RateLimit-Remaining is not used: every
// process of the fleet books in the same log, and requests from outside the
// fleet are the prefix's to avoid.
func (l *Limiter) Observe(key string, rl leadway.RateLimit) {
	if l.err != nil || rl == (leadway.RateLimit{}) {
		return
	}
	local := rl
	local.Remaining = -1
	if local.Max > 0 {
		local.Max = l.fallbackMax(local.Max)
	}
	l.fallback().Observe(key, local)

	// A figure over the client's bound is not a budget anyone announced.
	if rl.Max > 0 && rl.Max <= leadway.MaxBurstFigure && rl.Interval > 0 && rl.Interval <= maxAdaptedInterval {
		if cur := l.figures(); cur.max != rl.Max || cur.interval != rl.Interval {
			l.announced.Store(&budget{rl.Max, rl.Interval})
		}
	}

	l.mu.Lock()
	probed := l.probes[key]
	delete(l.probes, key)
	down := l.down
	var answered string
	if q := l.unanswered[key]; len(q) > 0 {
		answered = q[0]
		if len(q) == 1 {
			delete(l.unanswered, key)
		} else {
			l.unanswered[key] = q[1:]
		}
	}
	l.mu.Unlock()
	if down {
		return
	}
	keys := l.keys(key)
	if answered != "" {
		// The oldest unanswered booking takes the answer's time (which
		// answer belongs to which booking does not matter: the k-th answer
		// comes after the k-th request reached the server).
		if err := l.call(context.Background(), func(ctx context.Context) error {
			return answerScript.Run(ctx, l.rdb, keys[:1], answered, l.cfg.margin.Microseconds()).Err()
		}); err != nil {
			l.failed(fmt.Errorf("redislimit: recording an answer: %w", err))
			return
		}
	}
	if !probed && !rl.DailyExhausted() {
		return
	}
	err := l.call(context.Background(), func(ctx context.Context) error {
		if rl.DailyExhausted() {
			// Without Retry-After the stop runs to midnight UTC on
			// Redis's clock, like every other time of the fleet's: a
			// process with a skewed clock must not set it for all.
			d := int64(-1)
			if rl.RetryAfter >= 0 {
				d = min(rl.RetryAfter, maxDailyStop).Microseconds()
			}
			return stopScript.Run(ctx, l.rdb, keys[1:2], d).Err()
		}
		return l.rdb.Del(ctx, keys[1]).Err()
	})
	if err != nil {
		l.failed(fmt.Errorf("redislimit: recording the daily budget: %w", err))
	}
}

// maxDailyStop bounds a stop a hostile Retry-After asks for, as the
// in-process limiter does.
const maxDailyStop = 24 * time.Hour

var _ leadway.Limiter = (*Limiter)(nil)
