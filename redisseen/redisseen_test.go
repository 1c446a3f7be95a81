package redisseen_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/internal/redistest"
	"github.com/leadwaycrm/leadway/internal/seentest"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/redisseen"
	"github.com/leadwaycrm/leadway/webhook"
	"github.com/redis/go-redis/v9"
)

func uniquePrefix(t testing.TB) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
}

// TestConforms: the Redis store behaves as every SeenStore must, against a
// real redis-server.
func TestConforms(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	seentest.Run(t, func(t *testing.T) webhook.SeenStore {
		return redisseen.New(rdb, redisseen.WithPrefix(uniquePrefix(t)))
	})
}

// TestKeys: what the store writes to Redis, and when it expires.
func TestKeys(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := t.Context()
	prefix := uniquePrefix(t)
	s := redisseen.New(rdb, redisseen.WithPrefix(prefix))
	const ttl = 6 * time.Minute

	if c, err := s.Claim(ctx, "wh-1", "owner-a", ttl); err != nil || c != webhook.Claimed {
		t.Fatalf("Claim = %v, %v", c, err)
	}
	wantKey(t, rdb, prefix+"wh-1", "claim:owner-a", ttl)
	if err := s.Done(ctx, "wh-1", ttl); err != nil {
		t.Fatal(err)
	}
	wantKey(t, rdb, prefix+"wh-1", "done", ttl) // the claim's expiry, kept
	if err := s.Done(ctx, "wh-2", time.Minute); err != nil {
		t.Fatal(err)
	}
	wantKey(t, rdb, prefix+"wh-2", "done", time.Minute)
	if err := s.Release(ctx, "wh-1", "owner-a", time.Hour); err != nil {
		t.Fatal(err)
	}
	wantKey(t, rdb, prefix+"wh-1", "done", ttl) // a release never undoes done

	if c, err := s.Claim(ctx, "wh-3", "owner-b", ttl); err != nil || c != webhook.Claimed {
		t.Fatalf("Claim = %v, %v", c, err)
	}
	if err := s.Release(ctx, "wh-3", "owner-b", 0); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, prefix+"wh-3").Result(); err != nil || n != 0 {
		t.Errorf("a claim released without a wait is still there: %d, %v", n, err)
	}

	// A failed attempt's id is awaited for the wait, then taken again.
	if c, err := s.Claim(ctx, "wh-4", "owner-c", ttl); err != nil || c != webhook.Claimed {
		t.Fatalf("Claim = %v, %v", c, err)
	}
	if err := s.Release(ctx, "wh-4", "owner-c", 80*time.Minute); err != nil {
		t.Fatal(err)
	}
	wantKey(t, rdb, prefix+"wh-4", "await", 80*time.Minute)
	if c, err := s.ClaimRedelivery(ctx, "wh-4", "owner-d", ttl); err != nil || c != webhook.Claimed {
		t.Fatalf("ClaimRedelivery = %v, %v", c, err)
	}
	wantKey(t, rdb, prefix+"wh-4", "claim:owner-d", ttl)
	if c, err := s.ClaimRedelivery(ctx, "wh-5", "owner-d", ttl); err != nil || c != webhook.NotAwaited {
		t.Fatalf("ClaimRedelivery of an unknown id = %v, %v", c, err)
	}
	if n, err := rdb.Exists(ctx, prefix+"wh-5").Result(); err != nil || n != 0 {
		t.Errorf("a refused late claim wrote a key: %d, %v", n, err)
	}
}

func wantKey(t *testing.T, rdb *redis.Client, key, value string, ttl time.Duration) {
	t.Helper()
	got, err := rdb.Get(t.Context(), key).Result()
	if err != nil || got != value {
		t.Fatalf("GET %s = %q, %v; want %q", key, got, err, value)
	}
	pttl, err := rdb.PTTL(t.Context(), key).Result()
	if err != nil || pttl <= ttl-5*time.Second || pttl > ttl {
		t.Errorf("PTTL %s = %s, %v; want just under %s", key, pttl, err, ttl)
	}
}

// TestInvalidOptions: a bad option fails every call, naming it.
func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		s    *redisseen.Store
		want string
	}{
		{redisseen.New(nil), "nil Redis client"},
		{redisseen.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), redisseen.WithPrefix("")), "empty prefix"},
		{redisseen.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), redisseen.WithTimeout(0)), "timeout 0s"},
	} {
		_, err := tc.s.Claim(t.Context(), "id", "o", time.Minute)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Claim = %v, want an error containing %q", err, tc.want)
		}
		if err := tc.s.Done(t.Context(), "id", time.Minute); err == nil {
			t.Error("Done succeeded with an invalid option")
		}
	}
}

// replica is one process of a service: its own handler, sharing the Redis
// store with the others.
func replica(t *testing.T, rdb redis.UniversalClient, prefix string, fn func(context.Context, *webhook.Event) error) http.Handler {
	t.Helper()
	h, err := webhook.NewHandler(fn,
		webhook.WithPublicKey(leadwaytest.WebhookPublicKey()),
		webhook.WithSeen(redisseen.New(rdb, redisseen.WithPrefix(prefix))))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func deliver(h http.Handler, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
	req.Header.Set(webhook.SignatureHeader, leadwaytest.SignWebhook(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

func event(id string) []byte {
	return fmt.Appendf(nil, `{"type":"OpportunityCreate","id":"opp-1","timestamp":%q,"webhookId":%q}`,
		time.Now().UTC().Format(time.RFC3339Nano), id)
}

// TestReplicas: copies of one delivery spread over three replicas, at
// once and afterwards, run the function exactly once in all.
func TestReplicas(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	prefix := uniquePrefix(t)
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(context.Context, *webhook.Event) error {
		calls.Add(1)
		<-release
		return nil
	}
	replicas := []http.Handler{replica(t, rdb, prefix, fn), replica(t, rdb, prefix, fn), replica(t, rdb, prefix, fn)}
	body := event("wh-replicated")

	const copies = 30
	codes := make(chan int, copies)
	var wg sync.WaitGroup
	released := false
	defer func() { // a failing test must not leave the function blocked
		if !released {
			close(release)
		}
		wg.Wait()
	}()
	for i := range copies {
		wg.Go(func() { codes <- deliver(replicas[i%3], body) })
	}
	// Every copy but the one in the function is answered 429 while it runs.
	for range copies - 1 {
		select {
		case c := <-codes:
			if c != http.StatusTooManyRequests {
				t.Errorf("a concurrent copy got %d, want 429", c)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("copies are still running after 20s: the function ran %d times", calls.Load())
		}
	}
	close(release)
	released = true
	wg.Wait()
	if c := <-codes; c != http.StatusOK {
		t.Errorf("the copy that ran the function got %d", c)
	}
	for _, r := range replicas { // HighLevel's later redeliveries of the 429s
		if c := deliver(r, body); c != http.StatusOK {
			t.Errorf("a later copy got %d, want 200", c)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the function ran %d times across the replicas, want 1", n)
	}
}

// TestRedisDown: while Redis is unreachable nothing is processed and every
// delivery is answered 429, so HighLevel brings it back; once Redis is
// back, the redelivery is processed.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	var calls atomic.Int32
	var lastErr atomic.Pointer[webhook.DeliveryError]
	h, err := webhook.NewHandler(func(context.Context, *webhook.Event) error { calls.Add(1); return nil },
		webhook.WithPublicKey(leadwaytest.WebhookPublicKey()),
		webhook.WithSeen(redisseen.New(rdb, redisseen.WithPrefix(uniquePrefix(t)), redisseen.WithTimeout(200*time.Millisecond))),
		webhook.WithErrorFunc(func(_ *http.Request, err *webhook.DeliveryError) { lastErr.Store(err) }))
	if err != nil {
		t.Fatal(err)
	}
	body := event("wh-during-outage")
	srv.Stop()
	if c := deliver(h, body); c != http.StatusTooManyRequests || calls.Load() != 0 {
		t.Errorf("with Redis down: %d after %d calls, want 429 and none", c, calls.Load())
	}
	var se *webhook.StoreError
	if d := lastErr.Load(); d == nil || !errors.As(d, &se) || se.Op != "claim" {
		t.Errorf("WithErrorFunc got %v", d)
	}
	srv.Start()
	if c := deliver(h, body); c != http.StatusOK || calls.Load() != 1 {
		t.Errorf("with Redis back: %d after %d calls, want 200 and one", c, calls.Load())
	}
}
