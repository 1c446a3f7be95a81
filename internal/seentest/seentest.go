// Package seentest is the behaviour every webhook.SeenStore must show, as
// one test suite run against each implementation: the in-memory store of
// package webhook and the Redis store of package redisseen.
package seentest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/webhook"
)

// ttl is long enough that nothing expires during the suite.
const ttl = time.Hour

// Run runs the suite. newStore returns an empty store for one subtest.
func Run(t *testing.T, newStore func(t *testing.T) webhook.SeenStore) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s webhook.SeenStore)
	}{
		{"claim, copy, done, duplicate", testClaimCopyDoneDuplicate},
		{"release frees the id for a redelivery", testReleaseFreesTheIdForARedelivery},
		{"a late redelivery claims only an awaited id", testALateRedeliveryClaimsOnlyAnAwaitedId},
		{"an awaited id is claimed by an on-time copy too", testAnAwaitedIdIsClaimedByAnOnTimeCopyToo},
		{"a release without a wait forgets the id", testAReleaseWithoutAWaitForgetsTheId},
		{"done without a claim, and releasing an unknown id", testDoneWithoutAClaimAndReleasingAnUnknownId},
		{"ids are opaque bytes", testIdsAreOpaqueBytes},
		{"concurrent claims: exactly one wins", testConcurrentClaimsExactlyOneWins},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

func testClaimCopyDoneDuplicate(t *testing.T, s webhook.SeenStore) {
	ctx := t.Context()
	want(t, s, "id-1", "a", webhook.Claimed)
	want(t, s, "id-1", "b", webhook.InProgress)
	if err := s.Done(ctx, "id-1", ttl); err != nil {
		t.Fatal(err)
	}
	want(t, s, "id-1", "c", webhook.AlreadySeen)
	want(t, s, "id-2", "c", webhook.Claimed)
}

func testReleaseFreesTheIdForARedelivery(t *testing.T, s webhook.SeenStore) {
	ctx := t.Context()
	want(t, s, "id-1", "a", webhook.Claimed)
	mustRelease(t, s, "id-1", "b") // not the owner: no effect
	want(t, s, "id-1", "c", webhook.InProgress)
	mustRelease(t, s, "id-1", "a")
	want(t, s, "id-1", "d", webhook.Claimed)
	if err := s.Done(ctx, "id-1", ttl); err != nil {
		t.Fatal(err)
	}
	mustRelease(t, s, "id-1", "d") // done: releasing changes nothing
	want(t, s, "id-1", "e", webhook.AlreadySeen)
}

func testALateRedeliveryClaimsOnlyAnAwaitedId(t *testing.T, s webhook.SeenStore) {
	ctx := t.Context()
	wantLate(t, s, "id-1", "a", webhook.NotAwaited) // never seen
	want(t, s, "id-1", "a", webhook.Claimed)
	wantLate(t, s, "id-1", "b", webhook.InProgress)
	mustReleaseWait(t, s, "id-1", "b", ttl) // not the owner: no effect
	wantLate(t, s, "id-1", "c", webhook.InProgress)
	mustReleaseWait(t, s, "id-1", "a", ttl)
	wantLate(t, s, "id-1", "d", webhook.Claimed)
	wantLate(t, s, "id-1", "e", webhook.InProgress) // one redelivery at a time
	mustReleaseWait(t, s, "id-1", "d", ttl)         // failed again: awaited again
	wantLate(t, s, "id-1", "f", webhook.Claimed)
	if err := s.Done(ctx, "id-1", ttl); err != nil {
		t.Fatal(err)
	}
	wantLate(t, s, "id-1", "g", webhook.AlreadySeen)
	want(t, s, "id-1", "g", webhook.AlreadySeen)
}

func testAnAwaitedIdIsClaimedByAnOnTimeCopyToo(t *testing.T, s webhook.SeenStore) {
	want(t, s, "id-1", "a", webhook.Claimed)
	mustReleaseWait(t, s, "id-1", "a", ttl)
	want(t, s, "id-1", "b", webhook.Claimed)
	want(t, s, "id-1", "c", webhook.InProgress)
}

func testAReleaseWithoutAWaitForgetsTheId(t *testing.T, s webhook.SeenStore) {
	want(t, s, "id-1", "a", webhook.Claimed)
	mustRelease(t, s, "id-1", "a")
	wantLate(t, s, "id-1", "b", webhook.NotAwaited)
}

func testDoneWithoutAClaimAndReleasingAnUnknownId(t *testing.T, s webhook.SeenStore) {
	ctx := t.Context()
	if err := s.Done(ctx, "id-1", ttl); err != nil {
		t.Fatal(err)
	}
	want(t, s, "id-1", "a", webhook.AlreadySeen)
	mustRelease(t, s, "id-2", "a")
	want(t, s, "id-2", "a", webhook.Claimed)
}

func testIdsAreOpaqueBytes(t *testing.T, s webhook.SeenStore) {
	ids := []string{"a:b", "{x}", "with space", "ünï", "*", "\x00\xff", strings.Repeat("z", 256)}
	for _, id := range ids {
		want(t, s, id, "o", webhook.Claimed)
	}
	for _, id := range ids {
		want(t, s, id, "p", webhook.InProgress)
	}
}

func testConcurrentClaimsExactlyOneWins(t *testing.T, s webhook.SeenStore) {
	ctx := t.Context()
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[webhook.Claim]int{}
	)
	for i := range n {
		wg.Go(func() {
			c, err := s.Claim(ctx, "contended", fmt.Sprint("owner-", i), ttl)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			answers[c]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if answers[webhook.Claimed] != 1 || answers[webhook.InProgress] != n-1 {
		t.Errorf("answers = %v, want 1 Claimed and %d InProgress", answers, n-1)
	}
}

func want(t *testing.T, s webhook.SeenStore, id, owner string, w webhook.Claim) {
	t.Helper()
	got, err := s.Claim(context.Background(), id, owner, ttl)
	if err != nil {
		t.Fatalf("Claim(%q, %q): %v", id, owner, err)
	}
	if got != w {
		t.Fatalf("Claim(%q, %q) = %v, want %v", id, owner, got, w)
	}
}

func wantLate(t *testing.T, s webhook.SeenStore, id, owner string, w webhook.Claim) {
	t.Helper()
	got, err := s.ClaimRedelivery(context.Background(), id, owner, ttl)
	if err != nil {
		t.Fatalf("ClaimRedelivery(%q, %q): %v", id, owner, err)
	}
	if got != w {
		t.Fatalf("ClaimRedelivery(%q, %q) = %v, want %v", id, owner, got, w)
	}
}

func mustRelease(t *testing.T, s webhook.SeenStore, id, owner string) {
	t.Helper()
	mustReleaseWait(t, s, id, owner, 0)
}

func mustReleaseWait(t *testing.T, s webhook.SeenStore, id, owner string, wait time.Duration) {
	t.Helper()
	if err := s.Release(context.Background(), id, owner, wait); err != nil {
		t.Fatalf("Release(%q, %q): %v", id, owner, err)
	}
}
