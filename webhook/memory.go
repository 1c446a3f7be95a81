package webhook

import (
	"context"
	"sync"
	"time"
)

// DefaultSeenLimit is how many ids the default [MemoryStore] holds: at the
// default window of five minutes, a sustained 300 deliveries a second.
const DefaultSeenLimit = 100_000

// MemoryStore is the default [SeenStore]: the ids of one process, in memory.
// It holds at most its limit of ids, each forgotten when its ttl (the
// handler's max age plus skew) has passed; a claim over the limit fails
// with [ErrStoreFull], so the delivery is answered 429 and comes again
// rather than being processed without protection from its copies. Every
// call costs the same however full the store is. Use [NewMemoryStore].
type MemoryStore struct {
	mu      sync.Mutex
	limit   int
	now     func() time.Time
	entries map[string]memEntry
	// queue lists ids in the order their entries were written, which is
	// the order they expire in, since every ttl is the same. An element
	// whose seq no longer matches its entry is stale, and skipped.
	queue []expiry
	head  int
	seq   uint64
}

type memEntry struct {
	owner   string
	done    bool
	expires time.Time
	seq     uint64
}

type expiry struct {
	id  string
	at  time.Time
	seq uint64
}

// NewMemoryStore returns an empty store of at most limit ids; limit < 1
// means [DefaultSeenLimit]. Its clock is time.Now.
func NewMemoryStore(limit int) *MemoryStore {
	return newMemoryStore(limit, time.Now)
}

func newMemoryStore(limit int, now func() time.Time) *MemoryStore {
	if limit < 1 {
		limit = DefaultSeenLimit
	}
	return &MemoryStore{limit: limit, now: now, entries: make(map[string]memEntry)}
}

// Claim implements [SeenStore].
func (m *MemoryStore) Claim(_ context.Context, id, owner string, ttl time.Duration) (Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.expire(now)
	e, ok := m.entries[id]
	switch {
	case ok && now.Before(e.expires) && e.done:
		return AlreadySeen, nil
	case ok && now.Before(e.expires):
		return InProgress, nil
	case !ok && len(m.entries) >= m.limit:
		return 0, ErrStoreFull
	}
	m.put(id, memEntry{owner: owner, expires: now.Add(ttl)})
	return Claimed, nil
}

// Done implements [SeenStore]. A claimed id keeps the claim's expiry: the
// claim came after the delivery's time check, so its ttl already covers
// every copy that could still pass that check.
func (m *MemoryStore) Done(_ context.Context, id string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.expire(now)
	e, ok := m.entries[id]
	switch {
	case ok && now.Before(e.expires):
		e.done, e.owner = true, ""
		m.entries[id] = e
		return nil
	case !ok && len(m.entries) >= m.limit:
		return ErrStoreFull
	}
	m.put(id, memEntry{done: true, expires: now.Add(ttl)})
	return nil
}

// Release implements [SeenStore].
func (m *MemoryStore) Release(_ context.Context, id, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[id]; ok && !e.done && e.owner == owner {
		delete(m.entries, id)
	}
	return nil
}

// Len returns how many ids the store holds, expired ones it has not yet
// dropped included.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func (m *MemoryStore) put(id string, e memEntry) {
	m.seq++
	e.seq = m.seq
	m.entries[id] = e
	m.queue = append(m.queue, expiry{id: id, at: e.expires, seq: e.seq})
	m.compact()
}

// expire drops the entries whose time has come, from the front of the
// queue: amortised O(1) per call.
func (m *MemoryStore) expire(now time.Time) {
	for m.head < len(m.queue) && !now.Before(m.queue[m.head].at) {
		x := m.queue[m.head]
		if e, ok := m.entries[x.id]; ok && e.seq == x.seq {
			delete(m.entries, x.id)
		}
		m.queue[m.head] = expiry{}
		m.head++
	}
	if m.head == len(m.queue) {
		m.queue, m.head = m.queue[:0], 0
	}
}

// compact keeps the queue within a constant factor of the live entries:
// it drops stale elements (of released or rewritten entries) once they
// outnumber the live ones, and reclaims the consumed front.
func (m *MemoryStore) compact() {
	live := len(m.entries)
	if n := len(m.queue) - m.head; n <= 2*live+64 && m.head <= n {
		return
	}
	kept := m.queue[:0]
	for _, x := range m.queue[m.head:] {
		if e, ok := m.entries[x.id]; ok && e.seq == x.seq {
			kept = append(kept, x)
		}
	}
	clear(m.queue[len(kept):])
	m.queue, m.head = kept, 0
}
