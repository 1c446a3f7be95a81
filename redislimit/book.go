package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/redis/go-redis/v9"
)

// waitRedis books and waits. It returns the caller's result, or a non-nil
// redisErr when Redis could not be asked (the caller then falls back).
func (l *Limiter) waitRedis(ctx context.Context, key string) (err, redisErr error) {
	// A booking lost while it waited (Redis lost its data) is booked
	// again, behind the hold a lost log sets, never sent as it was.
	for range maxRebookings {
		err, redisErr, gone := l.bookAndWait(ctx, key)
		if !gone {
			return err, redisErr
		}
	}
	return nil, errors.New("redislimit: bookings keep vanishing from Redis: is it evicting keys? (the Redis for budgets needs maxmemory-policy noeviction)")
}

// maxRebookings bounds how often one call books again a slot that vanished.
const maxRebookings = 3

// bookAndWait books a slot and waits for it; gone reports that the booking
// vanished from Redis while it waited.
func (l *Limiter) bookAndWait(ctx context.Context, key string) (err, redisErr error, gone bool) {
	maxWait := int64(-1)
	if deadline, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(deadline).Microseconds(), 0)
	}
	member := l.id + ":" + strconv.FormatUint(l.seq.Add(1), 36)
	b := l.figures()
	keys := l.keys(key)
	var res []int64
	err = l.call(ctx, func(ctx context.Context) (err error) {
		res, err = reserveScript.Run(ctx, l.rdb, keys,
			b.max, b.interval.Microseconds(), l.cfg.max, l.cfg.interval.Microseconds(),
			l.cfg.margin.Microseconds(), maxWait, member, leadway.DailyProbeLease.Microseconds(), l.epochSeen(key),
			l.firstLease(b).Microseconds()).Int64Slice()
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err(), nil, false
		}
		return nil, fmt.Errorf("redislimit: booking a slot: %w", err), false
	}
	if len(res) < 2 {
		return nil, fmt.Errorf("redislimit: booking a slot: unexpected reply %v", res), false
	}
	wait := time.Duration(res[1]) * time.Microsecond
	switch res[0] {
	case 1:
		return &leadway.SlotPastDeadlineError{RateLimitError: &leadway.RateLimitError{RetryAfter: wait}}, nil, false
	case 2:
		return &leadway.RateLimitError{Daily: true, RetryAfter: wait}, nil, false
	}
	if len(res) > 2 && res[2] == 1 {
		l.mu.Lock()
		l.probes[key] = true
		l.mu.Unlock()
	}
	if len(res) > 3 {
		l.sawEpoch(key, res[3])
	}
	if wait > 0 {
		err, gone, redisErr := l.waitSlot(ctx, keys, member, b)
		if redisErr != nil {
			return nil, fmt.Errorf("redislimit: checking a booked slot: %w", redisErr), false
		}
		if err != nil || gone {
			return err, nil, gone
		}
	}
	l.sent(key, member, b)
	return nil, nil, false
}

// sent queues a booking whose slot has come for the answer that will move
// it to the answer's time. Only sent bookings queue: an answer moved onto a
// booking still waiting would release it early.
func (l *Limiter) sent(key, member string, b budget) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// At most a budget's worth of each: sends that never get an answer
	// (the request failed on the way) must not pile up, and only the last
	// window's sends seed the fallback.
	keep := max(l.cfg.max, b.max)
	l.unanswered[key] = appendLast(l.unanswered[key], member, keep)
	if len(l.recent) >= maxLocations {
		clear(l.recent)
	}
	l.recent[key] = appendLast(l.recent[key], time.Now(), keep)
}

// appendLast appends v to q and keeps its last n elements.
func appendLast[T any](q []T, v T, n int) []T {
	q = append(q, v)
	if extra := len(q) - n; extra > 0 {
		q = q[extra:]
	}
	return q
}

// pastDeadline reports the error of a slot past ctx's deadline.
func pastDeadline(ctx context.Context, wait time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return &leadway.SlotPastDeadlineError{RateLimitError: &leadway.RateLimitError{RetryAfter: wait}}
	}
	return nil
}

// cancelBooking frees a booked slot whose caller gave up, and returns
// ctx's error.
func (l *Limiter) cancelBooking(ctx context.Context, keys []string, member string) error {
	// On a context of its own: the caller's has ended.
	_ = l.call(context.WithoutCancel(ctx), func(ctx context.Context) error {
		_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, keys[0], member)
			p.ZRem(ctx, keys[3], member)
			return nil
		})
		return err
	})
	return ctx.Err()
}
