package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// Store keeps installs by key, and holds a lock across processes while a
// refresh token is redeemed. Keys are opaque strings to a store; the
// manager uses "location:<id>" and "company:<id>" for installs and
// "minted:<id>" for the location token last minted from a Company install.
//
// Implement it over your own database to keep installs beside your data;
// [NewMemoryStore] serves one process and tests, and package
// oauth/redisstore serves a fleet. The refresh token in a stored install is
// a secret: keep the store as safe as the app's client secret.
type Store interface {
	// Get returns the install stored under key, or an error matching
	// [ErrNotFound].
	Get(ctx context.Context, key string) (*Install, error)
	// Put stores in under key, replacing what was there. When it returns
	// nil, every later Get, in any process, returns in.
	Put(ctx context.Context, key string, in *Install) error
	// Delete removes key; a key that is not there is no error.
	Delete(ctx context.Context, key string) error
	// List returns every key stored, in any order.
	List(ctx context.Context) ([]string, error)
	// Lock takes the lock of key for lease, or returns an error matching
	// [ErrLocked] at once when another holder has it. A lock whose holder
	// dies frees itself when its lease runs out.
	Lock(ctx context.Context, key string, lease time.Duration) (Lease, error)
}

// Lease is a lock taken with [Store.Lock].
type Lease interface {
	// Extend renews the lease for as long as it was first taken. It
	// returns an error matching [ErrLockLost] when the lease already ran
	// out: another holder may have the lock.
	Extend(ctx context.Context) error
	// Release frees the lock, but only if this lease still holds it: a
	// lock that ran out and was taken by another holder stays theirs.
	Release(ctx context.Context) error
}

// MemoryStore is a [Store] in this process's memory, for a single process
// and for tests. Its locks honour their leases, as a shared store's do.
type MemoryStore struct {
	mu       sync.Mutex
	installs map[string]*Install
	locks    map[string]memLock
}

type memLock struct {
	owner string
	until time.Time
}

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{installs: map[string]*Install{}, locks: map[string]memLock{}}
}

// Get returns a copy of the install under key.
func (s *MemoryStore) Get(_ context.Context, key string) (*Install, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installs[key]
	if !ok {
		return nil, ErrNotFound
	}
	return in.clone(), nil
}

// Put stores a copy of in under key.
func (s *MemoryStore) Put(_ context.Context, key string, in *Install) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installs[key] = in.clone()
	return nil
}

// Delete removes key.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.installs, key)
	return nil
}

// List returns the keys, sorted.
func (s *MemoryStore) List(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.installs))
	for k := range s.installs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Lock takes key's lock for lease.
func (s *MemoryStore) Lock(_ context.Context, key string, lease time.Duration) (Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if l, ok := s.locks[key]; ok && now.Before(l.until) {
		return nil, ErrLocked
	}
	owner := randomOwner()
	s.locks[key] = memLock{owner: owner, until: now.Add(lease)}
	return &memLease{s: s, key: key, owner: owner, lease: lease}, nil
}

type memLease struct {
	s     *MemoryStore
	key   string
	owner string
	lease time.Duration
}

func (l *memLease) Extend(context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	cur, ok := l.s.locks[l.key]
	now := time.Now()
	if !ok || cur.owner != l.owner || !now.Before(cur.until) {
		return ErrLockLost
	}
	l.s.locks[l.key] = memLock{owner: l.owner, until: now.Add(l.lease)}
	return nil
}

func (l *memLease) Release(context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if cur, ok := l.s.locks[l.key]; ok && cur.owner == l.owner {
		delete(l.s.locks, l.key)
	}
	return nil
}

// randomOwner returns a value no other holder has, to tell lock holders
// apart.
func randomOwner() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
