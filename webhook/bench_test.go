package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// A typical delivery: an opportunity event as HighLevel sends it (~420 bytes).
func benchBody(b *testing.B, id string) []byte {
	return eventBody(b, "OpportunityStageUpdate", id, now)
}

// BenchmarkVerify: the Ed25519 check of one delivery.
func BenchmarkVerify(b *testing.B) {
	body := benchBody(b, "wh-1")
	sig, key := leadwaytest.SignWebhook(body), leadwaytest.WebhookPublicKey()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := webhook.Verify(body, sig, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: decoding one verified opportunity event.
func BenchmarkDecode(b *testing.B) {
	body := benchBody(b, "wh-1")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAndDecode: the work per event, with events per second.
func BenchmarkVerifyAndDecode(b *testing.B) {
	body := benchBody(b, "wh-1")
	sig, key := leadwaytest.SignWebhook(body), leadwaytest.WebhookPublicKey()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := webhook.Verify(body, sig, key); err != nil {
			b.Fatal(err)
		}
		if _, err := webhook.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkHandler: a whole delivery through ServeHTTP (read, verify,
// decode, time check, claim, function, done), each with a new webhookId,
// with events per second. Run with -cpu 1 for the rate of one core.
func BenchmarkHandler(b *testing.B) {
	const distinct = 4096
	bodies := make([][]byte, distinct)
	sigs := make([]string, distinct)
	for i := range bodies {
		bodies[i] = benchBody(b, fmt.Sprintf("wh-%08d", i))
		sigs[i] = leadwaytest.SignWebhook(bodies[i])
	}
	// Each pass over the bodies starts on an empty store, so every
	// delivery is new; emptying it is outside the timer.
	var store *webhook.MemoryStore
	h, err := webhook.NewHandler(func(context.Context, *webhook.Event) error { return nil },
		webhook.WithPublicKey(leadwaytest.WebhookPublicKey()), webhook.WithClock(func() time.Time { return now }),
		webhook.WithSeen(seenFunc(func() webhook.SeenStore { return store })))
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, distinct)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%distinct == 0 {
			b.StopTimer()
			store = webhook.NewMemoryStore(distinct)
			for j := range reqs {
				reqs[j] = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bodies[j]))
				reqs[j].Header.Set(webhook.SignatureHeader, sigs[j])
			}
			b.StartTimer()
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, reqs[i%distinct])
		if w.Code != http.StatusOK {
			b.Fatalf("answer %d %s", w.Code, w.Body)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// seenFunc forwards to the store current() returns.
type seenFunc func() webhook.SeenStore

func (f seenFunc) Claim(ctx context.Context, id, owner string, ttl time.Duration) (webhook.Claim, error) {
	return f().Claim(ctx, id, owner, ttl)
}
func (f seenFunc) ClaimRedelivery(ctx context.Context, id, owner string, ttl time.Duration) (webhook.Claim, error) {
	return f().ClaimRedelivery(ctx, id, owner, ttl)
}
func (f seenFunc) Done(ctx context.Context, id string, ttl time.Duration) error {
	return f().Done(ctx, id, ttl)
}
func (f seenFunc) Release(ctx context.Context, id, owner string, wait time.Duration) error {
	return f().Release(ctx, id, owner, wait)
}

// BenchmarkMemoryStore: a claim and a done in a store that holds n live
// ids in steady state (one expires per delivery). The cost must not grow
// with n.
func BenchmarkMemoryStore(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("ids=", n), func(b *testing.B) {
			ids := make([]string, 4*n)
			for i := range ids {
				ids[i] = fmt.Sprintf("wh-%08d", i)
			}
			// A clock that ticks 1ns per call, two calls per delivery: a ttl
			// of 2n ticks keeps the last n deliveries' ids alive.
			var tick int64
			clock := func() time.Time { tick++; return time.Unix(0, tick) }
			store := webhook.NewClockedStore(n+1, clock)
			ttl := time.Duration(2 * n)
			ctx := context.Background()
			for i := range n { // fill to steady state
				store.Claim(ctx, ids[i], "o", ttl)
				store.Done(ctx, ids[i], ttl)
			}
			b.ReportAllocs()
			i := n
			for b.Loop() {
				id := ids[i%len(ids)]
				if c, err := store.Claim(ctx, id, "o", ttl); err != nil || c != webhook.Claimed {
					b.Fatalf("claim %d: %v %v (len %d)", i, c, err, store.Len())
				}
				if err := store.Done(ctx, id, ttl); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkMemoryStoreBaseline: the floor under BenchmarkMemoryStore, a
// bare Go map of n live ids with one insert, one lookup and one delete per
// delivery. Both grow alike from 10k to 100k ids: that is the map leaving
// the CPU's caches, not work that grows with n.
func BenchmarkMemoryStoreBaseline(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("ids=", n), func(b *testing.B) {
			ids := make([]string, 4*n)
			for i := range ids {
				ids[i] = fmt.Sprintf("wh-%08d", i)
			}
			type entry struct { // the size of the store's entries
				_    [48]byte
				done bool
			}
			m := make(map[string]entry)
			for i := range n {
				m[ids[i]] = entry{}
			}
			b.ReportAllocs()
			i := n
			for b.Loop() {
				id := ids[i%len(ids)]
				if _, ok := m[id]; ok {
					b.Fatal("present")
				}
				m[id] = entry{done: true}
				delete(m, ids[(i-n)%len(ids)])
				i++
			}
		})
	}
}
