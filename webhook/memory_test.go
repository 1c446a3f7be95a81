package webhook

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// TestMemoryStoreForgets: an id is remembered for its ttl, then forgotten,
// and room comes back as ids expire.
func TestMemoryStoreForgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m := NewMemoryStore(2)
		claim := func(id string, want Claim) {
			t.Helper()
			got, err := m.Claim(ctx, id, "o", time.Minute)
			if err != nil || got != want {
				t.Fatalf("Claim(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
		claim("a", Claimed)
		if err := m.Done(ctx, "a", time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		claim("b", Claimed)
		if _, err := m.Claim(ctx, "c", "o", time.Minute); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("Claim over the limit: err = %v, want ErrStoreFull", err)
		}
		claim("a", AlreadySeen)
		time.Sleep(30 * time.Second) // a's minute is up; b's claim has 30s left
		claim("a", Claimed)
		claim("b", InProgress)
		if n := m.Len(); n != 2 {
			t.Errorf("Len = %d, want 2", n)
		}
	})
}

// TestMemoryStoreStaysBounded: claims released again and again (fn failing
// for ever) leave no trail: the store and its expiry queue stay within a
// constant of the live ids.
func TestMemoryStoreStaysBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore(100)
	for i := range 100_000 {
		id := fmt.Sprint("id-", i%10)
		c, err := m.Claim(ctx, id, "o", time.Hour)
		if err != nil || c != Claimed {
			t.Fatalf("Claim %d = %v, %v", i, c, err)
		}
		wait := time.Duration(0)
		if i%2 == 0 {
			wait = time.Hour // awaited, then claimed again by its redelivery
		}
		if err := m.Release(ctx, id, "o", wait); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.entries) > 10 || len(m.expiries) > 2*10+64 || cap(m.expiries) > 4*(2*10+64) {
		t.Errorf("after churn: %d entries, heap len %d cap %d", len(m.entries), len(m.expiries), cap(m.expiries))
	}
}

// TestMemoryStoreAwaitsForTheWait: a released id is awaited by a late
// redelivery for the wait given, then forgotten; its wait, longer than the
// claims' ttl, neither keeps shorter entries alive nor is cut by them.
func TestMemoryStoreAwaitsForTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m := NewMemoryStore(10)
		late := func(id string, want Claim) {
			t.Helper()
			got, err := m.ClaimRedelivery(ctx, id, "o", time.Minute)
			if err != nil || got != want {
				t.Fatalf("ClaimRedelivery(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
		if c, err := m.Claim(ctx, "a", "o", time.Minute); err != nil || c != Claimed {
			t.Fatalf("Claim(a) = %v, %v", c, err)
		}
		if err := m.Release(ctx, "a", "o", time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := m.Done(ctx, "b", time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		if n := m.Len(); n != 1 {
			t.Errorf("after b's minute: Len = %d, want 1 (a awaited)", n)
		}
		time.Sleep(57 * time.Minute) // a has a minute left
		late("a", Claimed)
		if err := m.Release(ctx, "a", "o", time.Minute); err != nil { // failed again
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		late("a", NotAwaited)
		if n := m.Len(); n != 0 {
			t.Errorf("after every wait: Len = %d, want 0", n)
		}
	})
}

// TestMemoryStoreExpiresFromTheFront: a store at its limit of done ids,
// each expiring in turn, admits one new id per expiry.
func TestMemoryStoreExpiresFromTheFront(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m := NewMemoryStore(1000)
		for i := range 1000 {
			if err := m.Done(ctx, fmt.Sprint(i), time.Minute); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := m.Claim(ctx, "new-0", "o", time.Minute); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("full store: err = %v", err)
		}
		time.Sleep(time.Minute - time.Second) // now id 0, and only it, has expired
		if c, err := m.Claim(ctx, "new-1", "o", time.Minute); err != nil || c != Claimed {
			t.Fatalf("after one expiry: %v, %v", c, err)
		}
		if _, err := m.Claim(ctx, "new-2", "o", time.Minute); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("one expiry admits one: err = %v", err)
		}
	})
}
