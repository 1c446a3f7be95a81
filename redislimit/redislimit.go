// Package redislimit shares one rate budget between every process of an
// app, through Redis. It implements [leadway.Limiter]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	lim := redislimit.New(rdb, redislimit.WithPrefix("leadway:app-1:"))
//	client, err := leadway.New(token, leadway.WithRateLimiter(lim))
//
// Each call books its slot with one Lua script, run atomically on Redis's
// own clock (TIME): it checks the location's sliding log of send times,
// books the earliest slot that keeps every window within the budget, and
// applies the daily stop. When the answer comes back, a second script moves
// the booking to the answer's time, by when the server has surely counted
// the request. The processes of a fleet thus draw on one budget
// per location, whatever their number, with the semantics of
// [leadway.NewLimiter]: a burst of the budget goes out at once, no window
// ever holds more, callers wait only when they must.
//
// # Keys
//
// A location's keys are <prefix>{<location>}:log, a sorted set of booked
// send times, <prefix>{<location>}:day, the daily stop, and
// <prefix>{<location>}:epoch, the log's epoch. They expire on their own
// (the log a window after its last booking, the stop a day after it ends,
// the epoch a week after the last booking), so idle locations cost little.
// The epoch outlives the log: a log that vanishes while its epoch is gone
// too was lost (a FLUSHALL, a restart without data, an eviction), not left
// idle, and a process that saw the old epoch makes every process of the
// fleet hold off one window, since the sends the lost log held still count
// at the API. The braces are a Redis Cluster hash tag: the keys of a
// location hash to one slot, as the scripts need,
// while locations spread over the cluster. The prefix must therefore hold
// no braces. Give each app its own prefix: the vendor counts per app and
// location.
//
// # When Redis fails
//
// Each call to Redis is bounded by [WithTimeout] (100ms by default), so a
// slow or unreachable Redis never stalls a caller for longer. When a call
// fails, the limiter falls back to an in-process [leadway.NewLimiter] at a
// share of the budget ([WithFallbackShare], a quarter by default: set it to
// 1/N for N replicas, so that the fleet stays within the budget), logs a
// warning, and tries Redis again every [WithRetryEvery] (1s by default);
// the first call that gets through switches back, with an info line. It
// never switches to the full budget on its own.
package redislimit

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/redis/go-redis/v9"
)

// Defaults of the options below.
const (
	// DefaultPrefix starts every key.
	DefaultPrefix = "leadway:"
	// DefaultMax and DefaultInterval are the vendor's burst budget.
	DefaultMax      = 100
	DefaultInterval = 10 * time.Second
	// DefaultFallbackShare is the share of the budget one process uses
	// while Redis is unreachable.
	DefaultFallbackShare = 0.25
	// DefaultTimeout bounds each call to Redis.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultRetryEvery is how often a process on the fallback tries
	// Redis again.
	DefaultRetryEvery = time.Second
)

// maxAdaptedInterval bounds the burst window adopted from a response, as in
// package leadway.
const maxAdaptedInterval = time.Minute

//go:embed reserve.lua
var reserveLua string

//go:embed stop.lua
var stopLua string

//go:embed answer.lua
var answerLua string

//go:embed recheck.lua
var recheckLua string

//go:embed backfill.lua
var backfillLua string

var (
	reserveScript  = redis.NewScript(reserveLua)
	stopScript     = redis.NewScript(stopLua)
	answerScript   = redis.NewScript(answerLua)
	recheckScript  = redis.NewScript(recheckLua)
	backfillScript = redis.NewScript(backfillLua)
)

// Limiter is a [leadway.Limiter] whose state lives in Redis. It is safe for
// concurrent use.
type Limiter struct {
	rdb   redis.UniversalClient
	cfg   config
	err   error
	local leadway.Limiter // the fallback
	id    string          // this process's mark on its bookings
	seq   atomic.Uint64

	// The figures responses announced, which tighten cfg's budget.
	announced atomic.Pointer[budget]

	mu   sync.Mutex
	down bool // on the fallback
	// failures counts the Redis calls that failed in a row.
	failures      int
	refusedLogged bool      // the out-of-memory refusal was logged
	refusedUntil  time.Time // a refused write keeps the fallback until then
	backAt        time.Time // when the process last came back from the fallback
	// recent holds, per location, this process's sends through Redis in
	// about the last window, to seed the fallback with. fallbackSends are
	// the fallback's sends per location, for the log once Redis is back.
	recent        map[string][]time.Time
	fallbackSends map[string][]time.Time
	retryAt       time.Time // when to try Redis again
	trying        bool      // a call is trying Redis
	probes        map[string]bool
	// epochs holds, per location, the id of the log's epoch last seen, by
	// which a lost log is noticed.
	epochs map[string]int64
	// unanswered holds, per location, this process's bookings sent and
	// not yet answered, oldest first.
	unanswered map[string][]string
}

type budget struct {
	max      int
	interval time.Duration
}

// New returns a limiter that keeps its state in rdb. See the package
// documentation for the keys, the script and what happens when Redis
// fails.
func New(rdb redis.UniversalClient, opts ...Option) *Limiter {
	cfg := config{
		prefix:     DefaultPrefix,
		max:        DefaultMax,
		interval:   DefaultInterval,
		margin:     -1,
		share:      DefaultFallbackShare,
		timeout:    DefaultTimeout,
		retryEvery: DefaultRetryEvery,
	}
	l := &Limiter{rdb: rdb, probes: make(map[string]bool), unanswered: make(map[string][]string), epochs: make(map[string]int64), recent: make(map[string][]time.Time)}
	for _, opt := range opts {
		if l.err == nil {
			l.err = opt(&cfg)
		}
	}
	if rdb == nil && l.err == nil {
		l.err = errors.New("redislimit: nil Redis client")
	}
	if cfg.margin < 0 {
		cfg.margin = leadway.SafetyMargin(cfg.interval)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	l.cfg = cfg
	l.local = leadway.NewLimiter(l.fallbackMax(cfg.max), cfg.interval)
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails on supported platforms
	l.id = hex.EncodeToString(b)
	return l
}

// fallbackMax is this process's share of a budget of max, at least one.
func (l *Limiter) fallbackMax(max int) int {
	return int(math.Max(1, math.Floor(float64(max)*l.cfg.share)))
}

func (l *Limiter) keys(key string) []string {
	tag := l.cfg.prefix + "{" + key + "}"
	return []string{tag + ":log", tag + ":day", tag + ":epoch", tag + ":lease"}
}

// maxLocations bounds the locations a process remembers epochs and recent
// sends of; past it, it forgets them all, and notices a lost log (or seeds
// its fallback) only from then on.
const maxLocations = 100_000

// epochSeen returns the epoch of key's log this process saw last, 0 if none.
func (l *Limiter) epochSeen(key string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epochs[key]
}

func (l *Limiter) sawEpoch(key string, epoch int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.epochs) >= maxLocations {
		clear(l.epochs)
	}
	l.epochs[key] = epoch
}

// Wait books a slot for key in Redis and waits for it, or, while Redis is
// unreachable, waits on the in-process fallback. Its errors are those
// [leadway.Limiter] documents.
func (l *Limiter) Wait(ctx context.Context, key string) error {
	if l.err != nil {
		return l.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if use, trial := l.useRedis(); use {
		if err, redisErr := l.viaRedis(ctx, key, trial); redisErr == nil {
			return err
		}
	}
	return l.waitFallback(ctx, key)
}

// viaRedis books and waits through Redis: after a recovery, it first writes
// the fallback's sends into the log. A first failed call is tried once
// more before the process switches to the fallback; redisErr reports that
// the caller must wait on the fallback.
func (l *Limiter) viaRedis(ctx context.Context, key string, trial bool) (err, redisErr error) {
	for {
		redisErr = nil
		if trial {
			redisErr = l.backfill(ctx)
		}
		if redisErr == nil {
			if err, redisErr = l.waitRedis(ctx, key); redisErr == nil {
				if l.recovered(trial) && err == nil {
					// Just back from the fallback: the others may still be on
					// theirs, unseen in the log, for up to retryEvery. Keep to
					// this process's share too until they are back.
					err = l.easeBack(ctx, key)
				}
				return err, nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err(), nil
		}
		if l.failed(redisErr) {
			return nil, redisErr
		}
	}
}

// figures returns the budget to book under: the announced one, or the
// configured one when none was announced.
func (l *Limiter) figures() budget {
	if b := l.announced.Load(); b != nil {
		return *b
	}
	return budget{l.cfg.max, l.cfg.interval}
}

// call runs fn with a context bounded by the timeout, and returns when fn
// does or the time is up, whichever comes first: a client without
// ContextTimeoutEnabled would otherwise wait for its own read timeout
// (3s by default). fn may then go on in the background until the client
// gives up; its result is dropped.
func (l *Limiter) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
