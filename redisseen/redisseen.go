// Package redisseen shares the ids of processed webhook deliveries between
// the replicas of a service, through Redis, so that a copy of a delivery is
// dropped whichever replica it reaches. It implements [webhook.SeenStore]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	h, err := webhook.NewHandler(fn, webhook.WithSeen(redisseen.New(rdb)))
//
// It lives apart from package webhook so that only services that use it
// compile go-redis.
//
// # Keys
//
// Each delivery has one key, <prefix><webhookId>: the string
// "claim:<owner>" while one replica's function runs for it, then "done";
// or "await" after a failed attempt, until its redelivery claims it. Every
// key expires on its own: a claim or a done id after the handler's max age
// plus skew, an awaited id at the redelivery horizon, so the store holds
// only the deliveries of that window. Claim,
// done and release are each one Lua script, run atomically: of any number
// of concurrent claims of an id, across replicas, exactly one wins, and a
// release deletes only the releasing attempt's own claim.
//
// # When Redis fails
//
// Each call is bounded by [WithTimeout] (500ms by default). A claim that
// fails makes the handler answer 429, so HighLevel delivers the event again
// later rather than have it processed without protection from its copies.
package redisseen

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/leadwaycrm/leadway/webhook"
	"github.com/redis/go-redis/v9"
)

// Defaults of the options below.
const (
	// DefaultPrefix starts every key.
	DefaultPrefix = "leadway:webhook:seen:"
	// DefaultTimeout bounds each call to Redis.
	DefaultTimeout = 500 * time.Millisecond
)

var (
	//go:embed claim.lua
	claimLua string
	//go:embed done.lua
	doneLua string
	//go:embed release.lua
	releaseLua string

	claimScript   = redis.NewScript(claimLua)
	doneScript    = redis.NewScript(doneLua)
	releaseScript = redis.NewScript(releaseLua)
)

// An Option configures a [Store]. An invalid option does not panic: every
// call of the store returns an error naming it, and the handler answers
// 429 to every delivery.
type Option func(*config) error

type config struct {
	prefix  string
	timeout time.Duration
}

// WithPrefix sets the prefix of every key, such as "leadway:app-1:seen:",
// so that apps sharing a Redis keep their own ids. Default: [DefaultPrefix].
func WithPrefix(p string) Option {
	return func(c *config) error {
		if p == "" {
			return errors.New("redisseen: empty prefix")
		}
		c.prefix = p
		return nil
	}
}

// WithTimeout bounds each call to Redis; a call that takes longer fails.
// Default: [DefaultTimeout].
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redisseen: timeout %s: must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// Store is a [webhook.SeenStore] in Redis. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	cfg config
	err error // the first invalid option's
}

// New returns a store that keeps its ids in rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, cfg: config{prefix: DefaultPrefix, timeout: DefaultTimeout}}
	for _, opt := range opts {
		if err := opt(&s.cfg); err != nil && s.err == nil {
			s.err = err
		}
	}
	if rdb == nil && s.err == nil {
		s.err = errors.New("redisseen: nil Redis client")
	}
	return s
}

// Claim implements [webhook.SeenStore].
func (s *Store) Claim(ctx context.Context, id, owner string, ttl time.Duration) (webhook.Claim, error) {
	return s.claim(ctx, id, owner, ttl, "0")
}

// ClaimRedelivery implements [webhook.SeenStore].
func (s *Store) ClaimRedelivery(ctx context.Context, id, owner string, ttl time.Duration) (webhook.Claim, error) {
	return s.claim(ctx, id, owner, ttl, "1")
}

func (s *Store) claim(ctx context.Context, id, owner string, ttl time.Duration, late string) (webhook.Claim, error) {
	var n int64
	err := s.call(ctx, func(ctx context.Context) (err error) {
		n, err = claimScript.Run(ctx, s.rdb, []string{s.cfg.prefix + id}, owner, millis(ttl), late).Int64()
		return err
	})
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return webhook.Claimed, nil
	case 2:
		return webhook.AlreadySeen, nil
	case 3:
		return webhook.InProgress, nil
	case 4:
		return webhook.NotAwaited, nil
	}
	return 0, fmt.Errorf("redisseen: claim script answered %d", n)
}

// Done implements [webhook.SeenStore].
func (s *Store) Done(ctx context.Context, id string, ttl time.Duration) error {
	return s.call(ctx, func(ctx context.Context) error {
		return doneScript.Run(ctx, s.rdb, []string{s.cfg.prefix + id}, millis(ttl)).Err()
	})
}

// Release implements [webhook.SeenStore].
func (s *Store) Release(ctx context.Context, id, owner string, wait time.Duration) error {
	w := "0"
	if wait > 0 {
		w = millis(wait)
	}
	return s.call(ctx, func(ctx context.Context) error {
		return releaseScript.Run(ctx, s.rdb, []string{s.cfg.prefix + id}, owner, w).Err()
	})
}

// call runs fn under the timeout, and returns when fn does or the time is
// up, whichever comes first: a client without ContextTimeoutEnabled would
// otherwise wait for its own read timeout. fn may go on in the background
// until the client gives up; its result is dropped.
func (s *Store) call(ctx context.Context, fn func(context.Context) error) error {
	if s.err != nil {
		return s.err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("redisseen: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("redisseen: %w", ctx.Err())
	}
}

// millis is a ttl in whole milliseconds, at least 1 (PX refuses 0).
func millis(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}
