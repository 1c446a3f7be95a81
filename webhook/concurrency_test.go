package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// TestConcurrentCopiesRunOnce: 20 copies of one delivery arrive while the
// function runs for the first; the function runs once, the copies are
// answered 429 (HighLevel brings them back later as plain duplicates), and
// a copy after the function finished is answered 200.
func TestConcurrentCopiesRunOnce(t *testing.T) {
	for _, outcome := range []string{"succeeds", "fails"} {
		t.Run("function "+outcome, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				release := make(chan struct{})
				h, err := webhook.NewHandler(func(ctx context.Context, e *webhook.Event) error {
					calls.Add(1)
					<-release
					if outcome == "fails" {
						return errors.New("down")
					}
					return nil
				}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey()))
				if err != nil {
					t.Fatal(err)
				}
				body := eventBody(t, "OpportunityCreate", "wh-1", time.Now())
				const copies = 20
				codes := make(chan int, copies)
				var wg sync.WaitGroup
				for range copies {
					wg.Go(func() { codes <- signed(h, body).Code })
				}
				synctest.Wait() // every copy answered but the one in the function
				if n := calls.Load(); n != 1 {
					t.Fatalf("function running %d times, want 1", n)
				}
				for range copies - 1 {
					if c := <-codes; c != http.StatusTooManyRequests {
						t.Errorf("a concurrent copy got %d, want 429", c)
					}
				}
				close(release)
				wg.Wait()
				first := <-codes
				later := signed(h, body).Code
				if outcome == "succeeds" && (first != 200 || later != 200 || calls.Load() != 1) {
					t.Errorf("first %d, later copy %d, calls %d; want 200, 200 and 1 call", first, later, calls.Load())
				}
				if outcome == "fails" && (first != 429 || later != 429 || calls.Load() != 2) {
					// The failure released the id, so the later copy runs
					// the function again (and fails again).
					t.Errorf("first %d, later copy %d, calls %d; want 429, 429 and 2 calls", first, later, calls.Load())
				}
			})
		})
	}
}

// failingStore is a SeenStore whose methods fail as told.
type failingStore struct {
	webhook.SeenStore
	claim             webhook.Claim
	claimErr, doneErr error
}

func (s *failingStore) Claim(ctx context.Context, id, owner string, ttl time.Duration) (webhook.Claim, error) {
	if s.claimErr != nil || s.claim != 0 {
		return s.claim, s.claimErr
	}
	return s.SeenStore.Claim(ctx, id, owner, ttl)
}

func (s *failingStore) Done(ctx context.Context, id string, ttl time.Duration) error {
	if s.doneErr != nil {
		return s.doneErr
	}
	return s.SeenStore.Done(ctx, id, ttl)
}

// TestHandlerStoreFailures: without a working seen store nothing is
// processed (429, so the event comes again); a store that fails after the
// function succeeded still gets 200, and the failure is reported.
func TestHandlerStoreFailures(t *testing.T) {
	down := errors.New("redis: connection refused")
	for _, tc := range []struct {
		name   string
		store  *failingStore
		status int
		calls  int
		want   func(*webhook.DeliveryError) bool
	}{
		{"claim fails", &failingStore{claimErr: down}, 429, 0, func(d *webhook.DeliveryError) bool {
			var se *webhook.StoreError
			return errors.As(d, &se) && se.Op == "claim" && errors.Is(d, down)
		}},
		{"claim answers nonsense", &failingStore{claim: 42}, 429, 0, func(d *webhook.DeliveryError) bool {
			var se *webhook.StoreError
			return errors.As(d, &se) && se.Op == "claim"
		}},
		{"store full", &failingStore{claimErr: webhook.ErrStoreFull}, 429, 0, func(d *webhook.DeliveryError) bool {
			return errors.Is(d, webhook.ErrStoreFull)
		}},
		{"done fails", &failingStore{doneErr: down}, 200, 1, func(d *webhook.DeliveryError) bool {
			var se *webhook.StoreError
			return errors.As(d, &se) && se.Op == "done" && d.Status == 200
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.store.SeenStore = webhook.NewMemoryStore(0)
			rec := &recorder{}
			h := newHandler(t, rec, webhook.WithSeen(tc.store))
			w := signed(h, eventBody(t, "OpportunityCreate", "wh-1", now))
			if w.Code != tc.status || rec.calls() != tc.calls {
				t.Errorf("answer %d after %d calls, want %d after %d", w.Code, rec.calls(), tc.status, tc.calls)
			}
			if d := rec.lastError(); d == nil || !tc.want(d) {
				t.Errorf("WithErrorFunc got %v", d)
			}
		})
	}
}

// TestHandlerContext: the function's context keeps the request's values,
// and is not cancelled when the sender hangs up: HighLevel would not
// deliver the event again, so the work had better finish.
func TestHandlerContext(t *testing.T) {
	type key struct{}
	var gotValue any
	var errAfterHangUp error
	reqCtx, hangUp := context.WithCancel(context.WithValue(context.Background(), key{}, "request value"))
	h, err := webhook.NewHandler(func(ctx context.Context, e *webhook.Event) error {
		gotValue = ctx.Value(key{})
		hangUp()
		errAfterHangUp = ctx.Err()
		return nil
	}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey()), webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody(t, "OpportunityCreate", "wh-1", now)
	req := httptest.NewRequestWithContext(reqCtx, http.MethodPost, "/", bytesReader(body))
	req.Header.Set(webhook.SignatureHeader, leadwaytest.SignWebhook(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || gotValue != "request value" || errAfterHangUp != nil {
		t.Errorf("answer %d, value %v, ctx.Err after the hang-up %v", w.Code, gotValue, errAfterHangUp)
	}
}

// TestKeyRotation: with the old and the new key both given, deliveries
// signed with either are accepted; with the new one alone, the old
// signatures are refused.
func TestKeyRotation(t *testing.T) {
	newPub, newPriv, _ := ed25519GenerateKey()
	body := eventBody(t, "OpportunityCreate", "wh-1", now)
	newSig := sign(newPriv, body)
	oldSig := leadwaytest.SignWebhook(body)

	rec := &recorder{}
	both := newHandler(t, rec, webhook.WithPublicKey(leadwaytest.WebhookPublicKey(), newPub))
	if c := post(both, body, &newSig).Code; c != 200 {
		t.Errorf("new key: %d", c)
	}
	if c := post(both, eventBody(t, "OpportunityCreate", "wh-2", now), ptr(leadwaytest.SignWebhook(eventBody(t, "OpportunityCreate", "wh-2", now)))).Code; c != 200 {
		t.Errorf("old key: %d", c)
	}
	onlyNew := newHandler(t, &recorder{}, webhook.WithPublicKey(newPub))
	if c := post(onlyNew, body, &oldSig).Code; c != 401 {
		t.Errorf("old key after the rotation: %d, want 401", c)
	}
}
