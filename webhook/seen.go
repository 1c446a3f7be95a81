package webhook

import (
	"context"
	"strconv"
	"time"
)

// Claim is a [SeenStore]'s answer to a delivery's id.
type Claim int

// The answers of [SeenStore] Claim. The zero Claim is none of them; the
// handler answers 429 to it, as to an error.
const (
	// Claimed: the id is new, and the caller now holds it for ttl.
	Claimed Claim = iota + 1
	// AlreadySeen: a delivery with this id was processed. The handler
	// answers 200 without running its function.
	AlreadySeen
	// InProgress: another caller holds the id and has not finished. The
	// handler answers 429, so HighLevel delivers the copy again later.
	InProgress
	// NotAwaited: the answer of ClaimRedelivery for an id that no failed
	// attempt released, or whose wait has lapsed. The handler refuses the
	// late delivery as stale (401).
	NotAwaited
)

// SeenStore remembers the webhookIds of deliveries, so that each is
// processed once however many copies arrive. An id is claimed before the
// handler's function runs, marked done after it succeeds, and released
// after it fails, so that a redelivery runs the function again. A released
// id is awaited for a while: HighLevel redelivers an event answered 429
// with its first body and timestamp, about 10 minutes apart, so a
// redelivery is older than the max age, and only an id the store awaits
// may be claimed that late (ClaimRedelivery). The default
// is an in-memory [MemoryStore]; package
// github.com/leadwaycrm/leadway/redisseen shares the ids between replicas
// through Redis. Implementations must be safe for concurrent use, and Claim
// must be atomic: of any number of concurrent claims of one id, exactly one
// is Claimed.
type SeenStore interface {
	// Claim takes id for owner, a value unique to this attempt, unless the
	// id is held or done; an awaited id is taken like a new one. A claim
	// lapses after ttl, so that a process that died holding one does not
	// block the id for ever.
	Claim(ctx context.Context, id, owner string, ttl time.Duration) (Claim, error)
	// ClaimRedelivery is Claim for a delivery too old to be a first one:
	// it takes id only while a failed attempt's Release awaits it, and
	// answers NotAwaited for an id it does not know.
	ClaimRedelivery(ctx context.Context, id, owner string, ttl time.Duration) (Claim, error)
	// Done marks id processed, whoever holds it, and remembers it until
	// the ttl of its claim has passed, or for ttl when it is not claimed.
	Done(ctx context.Context, id string, ttl time.Duration) error
	// Release drops owner's claim of id, if owner still holds it and it is
	// not done, and awaits a redelivery of id for wait (none when wait is
	// not positive); otherwise it does nothing.
	Release(ctx context.Context, id, owner string, wait time.Duration) error
}

func (c Claim) String() string {
	switch c {
	case Claimed:
		return "Claimed"
	case AlreadySeen:
		return "AlreadySeen"
	case InProgress:
		return "InProgress"
	case NotAwaited:
		return "NotAwaited"
	}
	return "Claim(" + strconv.Itoa(int(c)) + ")"
}
