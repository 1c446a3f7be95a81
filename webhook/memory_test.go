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
		if err := m.Release(ctx, id, "o"); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.entries) != 0 || len(m.queue) > 2*100+64 || cap(m.queue) > 4*(2*100+64) {
		t.Errorf("after churn: %d entries, queue len %d cap %d", len(m.entries), len(m.queue), cap(m.queue))
	}
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
