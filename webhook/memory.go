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
// It holds at most its limit of ids, each forgotten when its time has
// passed (a claim's or a done id's ttl, an awaited id's wait); a claim over
// the limit fails with [ErrStoreFull], so the delivery is answered 429 and
// comes again rather than being processed without protection from its
// copies. A call costs O(log n) in the ids held. Use [NewMemoryStore].
type MemoryStore struct {
	mu      sync.Mutex
	limit   int
	now     func() time.Time
	entries map[string]memEntry
	// expiries orders the entries' expiry times. An element whose seq no
	// longer matches its entry is stale (the entry was rewritten or
	// dropped), and is skipped when it comes up.
	expiries expiryHeap
	seq      uint64
}

type memState uint8

const (
	memClaimed memState = iota
	memDone
	memAwaited
)

type memEntry struct {
	owner   string
	state   memState
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
	return m.claim(id, owner, ttl, false)
}

// ClaimRedelivery implements [SeenStore].
func (m *MemoryStore) ClaimRedelivery(_ context.Context, id, owner string, ttl time.Duration) (Claim, error) {
	return m.claim(id, owner, ttl, true)
}

func (m *MemoryStore) claim(id, owner string, ttl time.Duration, late bool) (Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.expire(now)
	e, ok := m.entries[id]
	switch {
	case ok && e.state == memDone:
		return AlreadySeen, nil
	case ok && e.state == memClaimed:
		return InProgress, nil
	case !ok && late:
		return NotAwaited, nil
	case !ok && len(m.entries) >= m.limit:
		return 0, ErrStoreFull
	}
	m.put(id, memEntry{owner: owner, state: memClaimed, expires: now.Add(ttl)})
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
	case ok && e.state == memClaimed:
		e.state, e.owner = memDone, ""
		m.entries[id] = e // same seq and expiry: its heap element stays valid
		return nil
	case ok && e.state == memDone:
		return nil
	case !ok && len(m.entries) >= m.limit:
		return ErrStoreFull
	}
	m.put(id, memEntry{state: memDone, expires: now.Add(ttl)})
	return nil
}

// Release implements [SeenStore].
func (m *MemoryStore) Release(_ context.Context, id, owner string, wait time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok || e.state != memClaimed || e.owner != owner {
		return nil
	}
	if wait <= 0 {
		delete(m.entries, id)
		return nil
	}
	m.put(id, memEntry{state: memAwaited, expires: m.now().Add(wait)})
	return nil
}

// Len returns how many ids the store holds.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(m.now())
	return len(m.entries)
}

func (m *MemoryStore) put(id string, e memEntry) {
	m.seq++
	e.seq = m.seq
	m.entries[id] = e
	m.expiries.push(expiry{id: id, at: e.expires, seq: e.seq})
	m.compact()
}

// expire drops the entries whose time has come: O(log n) for each element
// it pops, and every element is popped once.
func (m *MemoryStore) expire(now time.Time) {
	for len(m.expiries) > 0 && !now.Before(m.expiries[0].at) {
		x := m.expiries.pop()
		if e, ok := m.entries[x.id]; ok && e.seq == x.seq {
			delete(m.entries, x.id)
		}
	}
}

// compact keeps the heap within a constant factor of the live entries: it
// drops stale elements (of released or rewritten entries) once they
// outnumber the live ones. Amortised O(1) per put.
func (m *MemoryStore) compact() {
	if len(m.expiries) <= 2*len(m.entries)+64 {
		return
	}
	kept := m.expiries[:0]
	for _, x := range m.expiries {
		if e, ok := m.entries[x.id]; ok && e.seq == x.seq {
			kept = append(kept, x)
		}
	}
	clear(m.expiries[len(kept):])
	m.expiries = kept
	m.expiries.init()
}

// expiryHeap is a min-heap of expiries by time, written out rather than
// through container/heap so that a push does not box its element.
type expiryHeap []expiry

func (h *expiryHeap) push(x expiry) {
	*h = append(*h, x)
	h.up(len(*h) - 1)
}

func (h *expiryHeap) pop() expiry {
	old := *h
	x, n := old[0], len(old)-1
	old[0] = old[n]
	old[n] = expiry{}
	*h = old[:n]
	h.down(0)
	return x
}

func (h expiryHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h expiryHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].at.Before(h[p].at) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h expiryHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h[r].at.Before(h[l].at) {
			c = r
		}
		if !h[c].at.Before(h[i].at) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
