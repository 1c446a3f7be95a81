// Package redisstore keeps OAuth installs in Redis, so that every process
// of a fleet shares them and refreshes each one under a single lock. It
// implements [oauth.Store]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	mgr, err := oauth.NewManager(cfg, redisstore.New(rdb, redisstore.WithPrefix("leadway:oauth:app-1:")))
//
// # Keys
//
// The installs of a prefix live in one hash, <prefix>installs, one field
// per install key holding the install as JSON; one key keeps them atomic
// and Redis Cluster-friendly. Each refresh lock is <prefix>lock:<install
// key>, a string holding its owner's random value, set with NX and a
// lease (PX). Extending and releasing compare the owner in a Lua script,
// so a holder whose lease ran out can never extend or delete the lock of
// the holder after it. GET <prefix>lock:<install key> shows who holds a
// lock: host/pid/random.
//
// The hash holds refresh tokens: protect the Redis as you protect the
// app's client secret (ACLs, TLS with rediss://, no public port).
//
// # When Redis fails
//
// Each call is bounded by [WithTimeout]. A call that fails or times out
// fails the store operation; the manager then redeems nothing (see
// [oauth.StoreError]), so a Redis outage delays refreshes and never loses
// an install.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
	"github.com/redis/go-redis/v9"
)

// Defaults of the options below.
const (
	// DefaultPrefix starts every key.
	DefaultPrefix = "leadway:oauth:"
	// DefaultTimeout bounds each call to Redis.
	DefaultTimeout = 2 * time.Second
)

// extendScript renews a lease only for its owner.
var extendScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes a lock only for its owner, never a bare DEL.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// An Option configures a [Store]. An invalid option does not panic: every
// call of the store returns an error naming it.
type Option func(*Store) error

// WithPrefix sets the prefix of every key, such as "leadway:oauth:<app>:",
// so that apps sharing a Redis keep their installs apart. Default:
// [DefaultPrefix].
func WithPrefix(p string) Option {
	return func(s *Store) error {
		if strings.ContainsAny(p, "{}") {
			return fmt.Errorf("redisstore: prefix %q: must not contain { or }, which Redis Cluster reads as a hash tag", p)
		}
		s.prefix = p
		return nil
	}
}

// WithTimeout bounds each call to Redis. Default: [DefaultTimeout].
func WithTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("redisstore: timeout %s: must be positive", d)
		}
		s.timeout = d
		return nil
	}
}

// Store is an [oauth.Store] in Redis. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	err     error // the first invalid option
	host    string
}

// New returns a store that keeps installs in rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, prefix: DefaultPrefix, timeout: DefaultTimeout}
	for _, opt := range opts {
		if err := opt(s); err != nil && s.err == nil {
			s.err = err
		}
	}
	if rdb == nil && s.err == nil {
		s.err = errors.New("redisstore: nil Redis client")
	}
	s.host, _ = os.Hostname()
	return s
}

func (s *Store) hash() string            { return s.prefix + "installs" }
func (s *Store) lockKey(k string) string { return s.prefix + "lock:" + k }

// call runs fn with ctx bounded by the store's timeout, and returns when
// fn does or the time is up, whichever comes first: a client without
// ContextTimeoutEnabled would otherwise wait for its own read timeout (3s
// by default). fn may go on in the background until the client gives up.
func (s *Store) call(ctx context.Context, fn func(context.Context) error) error {
	if s.err != nil {
		return s.err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("redisstore: %w", err)
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("redisstore: no answer from Redis within %s: %w", s.timeout, ctx.Err())
	}
}

// Get returns the install under key, or an error matching oauth.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (*oauth.Install, error) {
	var data []byte
	err := s.call(ctx, func(ctx context.Context) (err error) {
		data, err = s.rdb.HGet(ctx, s.hash(), key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, oauth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var in oauth.Install
	if err := json.Unmarshal(data, &in); err != nil {
		// The record holds secrets: say where it is, not what it holds.
		return nil, fmt.Errorf("redisstore: field %q of %s is not an install's JSON", key, s.hash())
	}
	return &in, nil
}

// Put stores in under key.
func (s *Store) Put(ctx context.Context, key string, in *oauth.Install) error {
	data, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("redisstore: encoding the install: %w", err)
	}
	return s.call(ctx, func(ctx context.Context) error { return s.rdb.HSet(ctx, s.hash(), key, data).Err() })
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.call(ctx, func(ctx context.Context) error { return s.rdb.HDel(ctx, s.hash(), key).Err() })
}

// List returns every key stored.
func (s *Store) List(ctx context.Context) ([]string, error) {
	var keys []string
	err := s.call(ctx, func(ctx context.Context) (err error) {
		keys, err = s.rdb.HKeys(ctx, s.hash()).Result()
		return err
	})
	return keys, err
}

// Lock takes key's lock for lease with SET NX PX, or returns
// oauth.ErrLocked when another owner holds it. A lock taken after the
// store stopped waiting for it is released at once.
func (s *Store) Lock(ctx context.Context, key string, lease time.Duration) (oauth.Lease, error) {
	if lease < time.Millisecond {
		return nil, fmt.Errorf("redisstore: lease %s: must be at least 1ms", lease)
	}
	l := &heldLock{s: s, key: s.lockKey(key), owner: s.newOwner(), lease: lease}
	var (
		mu       sync.Mutex
		ok, gone bool
	)
	err := s.call(ctx, func(ctx context.Context) error {
		took, err := s.rdb.SetNX(context.WithoutCancel(ctx), l.key, l.owner, lease).Result()
		mu.Lock()
		defer mu.Unlock()
		ok = took
		if took && gone {
			_ = releaseScript.Run(context.Background(), s.rdb, []string{l.key}, l.owner).Err()
		}
		return err
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		gone = true
		if ok { // taken just as the store stopped waiting
			go func() { _ = l.Release(context.Background()) }()
		}
		return nil, err
	}
	if !ok {
		return nil, oauth.ErrLocked
	}
	return l, nil
}

// newOwner is a lock value no other holder has, which says who holds it.
func (s *Store) newOwner() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on supported platforms
	return fmt.Sprintf("%s/%d/%s", s.host, os.Getpid(), hex.EncodeToString(b))
}

// heldLock is a lock this process holds.
type heldLock struct {
	s     *Store
	key   string
	owner string
	lease time.Duration
}

// Extend renews the lease if this owner still holds the lock.
func (l *heldLock) Extend(ctx context.Context) error {
	var n int
	err := l.s.call(ctx, func(ctx context.Context) (err error) {
		n, err = extendScript.Run(ctx, l.s.rdb, []string{l.key}, l.owner, l.lease.Milliseconds()).Int()
		return err
	})
	if err != nil {
		return err
	}
	if n != 1 {
		return oauth.ErrLockLost
	}
	return nil
}

// Release deletes the lock if this owner still holds it.
func (l *heldLock) Release(ctx context.Context) error {
	return l.s.call(ctx, func(ctx context.Context) error {
		return releaseScript.Run(ctx, l.s.rdb, []string{l.key}, l.owner).Err()
	})
}
