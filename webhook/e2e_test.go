package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// app is a service that receives webhooks with webhook.NewHandler wired as
// a user would, against the fake's key.
type app struct {
	*httptest.Server
	mu     sync.Mutex
	events []webhook.Event
	fails  int // how many calls fail before they succeed
	// failAge is how far the app's clock jumps at each failure: the fake
	// redelivers at once, and the handler sees HighLevel's schedule.
	failAge time.Duration
	skew    time.Duration
}

func startApp(t *testing.T) *app {
	a := &app{}
	h, err := webhook.NewHandler(func(ctx context.Context, e *webhook.Event) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.events = append(a.events, *e)
		if a.fails > 0 {
			a.fails--
			a.skew += a.failAge
			return errors.New("database briefly down")
		}
		return nil
	}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey()), webhook.WithClock(a.now))
	if err != nil {
		t.Fatal(err)
	}
	a.Server = httptest.NewServer(h)
	t.Cleanup(a.Close)
	return a
}

func (a *app) now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Now().Add(a.skew)
}

func (a *app) received() []webhook.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]webhook.Event(nil), a.events...)
}

// TestEndToEnd: changes made through leadway.Client against the fake reach
// the app as the right typed events.
func TestEndToEnd(t *testing.T) {
	a := startApp(t)
	srv := leadwaytest.NewServer(leadwaytest.WithWebhook(a.URL + "/webhooks/leadway"))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	before := time.Now().Add(-time.Millisecond)
	upsert := func(change func(*leadway.UpsertRequest)) {
		t.Helper()
		req := leadway.UpsertRequest{Id: leadway.Ptr("deal-1"), PipelineId: "pipe-1", LocationId: "loc-1"}
		change(&req)
		if _, err := client.Upsert(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	upsert(func(r *leadway.UpsertRequest) { // create
		r.Name, r.ContactId = leadway.Ptr("Website redesign"), leadway.Ptr("contact-1")
		r.PipelineStageId, r.MonetaryValue, r.AssignedTo = leadway.Ptr("stage-1"), leadway.Ptr(220.0), leadway.Ptr("user-1")
	})
	upsert(func(r *leadway.UpsertRequest) { r.PipelineStageId = leadway.Ptr("stage-2") }) // stage move
	upsert(func(r *leadway.UpsertRequest) { r.Status = leadway.Ptr(leadway.StatusWon) })  // status change
	upsert(func(r *leadway.UpsertRequest) { r.MonetaryValue = leadway.Ptr(1500.5) })      // value change
	upsert(func(r *leadway.UpsertRequest) { r.AssignedTo = leadway.Ptr("user-2") })       // reassignment
	if err := srv.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	type opp struct {
		stage, status, assignedTo string
		value                     float64
	}
	s1 := opp{"stage-1", "open", "user-1", 220}
	s2 := opp{"stage-2", "open", "user-1", 220}
	s3 := opp{"stage-2", "won", "user-1", 220}
	s4 := opp{"stage-2", "won", "user-1", 1500.5}
	s5 := opp{"stage-2", "won", "user-2", 1500.5}
	want := []struct {
		typ webhook.EventType
		opp opp
	}{
		{webhook.OpportunityCreate, s1},
		{webhook.OpportunityUpdate, s2}, {webhook.OpportunityStageUpdate, s2},
		{webhook.OpportunityUpdate, s3}, {webhook.OpportunityStatusUpdate, s3},
		{webhook.OpportunityUpdate, s4}, {webhook.OpportunityMonetaryValueUpdate, s4},
		{webhook.OpportunityUpdate, s5}, {webhook.OpportunityAssignedToUpdate, s5},
	}
	got := a.received()
	if len(got) != len(want) {
		t.Fatalf("app received %d events, want %d", len(got), len(want))
	}
	sent := srv.Webhooks()
	for i, e := range got {
		w := want[i]
		o := e.Opportunity
		if e.Type != w.typ || o == nil {
			t.Fatalf("event %d: type %s, opportunity %v; want %s", i, e.Type, o, w.typ)
		}
		if string(o.Type) != string(e.Type) || e.LocationID != "loc-1" || o.LocationId != "loc-1" || o.Id != "deal-1" ||
			o.Name != "Website redesign" || o.ContactId != "contact-1" || o.PipelineId != "pipe-1" || o.Source != "api" ||
			(opp{o.PipelineStageId, string(o.Status), o.AssignedTo, o.MonetaryValue}) != w.opp {
			t.Errorf("event %d (%s): %+v, want %+v", i, e.Type, *o, w.opp)
		}
		if e.WebhookID != sent[i].WebhookID || string(e.Raw) != string(sent[i].Body) {
			t.Errorf("event %d: id %s, raw %s; the fake sent %s, %s", i, e.WebhookID, e.Raw, sent[i].WebhookID, sent[i].Body)
		}
		if e.Timestamp.Before(before) || e.Timestamp.After(after) || o.DateAdded == "" {
			t.Errorf("event %d: timestamp %s not within the test (%s to %s), dateAdded %q", i, e.Timestamp, before, after, o.DateAdded)
		}
	}
}

// TestEndToEndRedelivery: the app's function fails once; the handler
// answers 429, the fake delivers the same event again, and this time it is
// processed. Nothing is lost.
func TestEndToEndRedelivery(t *testing.T) {
	t.Run("at once", func(t *testing.T) { testRedelivery(t, 0) })
	// HighLevel's redeliveries come 10 minutes apart with the first
	// timestamp, past the max age: the handler awaits the failed id.
	t.Run("10 minutes late", func(t *testing.T) { testRedelivery(t, 10*time.Minute) })
}

func testRedelivery(t *testing.T, late time.Duration) {
	a := startApp(t)
	a.fails, a.failAge = 1, late
	srv := leadwaytest.NewServer(leadwaytest.WithWebhook(a.URL), leadwaytest.WithWebhookRetry(10*time.Millisecond, 6))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Upsert(t.Context(), leadway.UpsertRequest{PipelineId: "p", LocationId: "l", Name: leadway.Ptr("Deal")}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, sent := a.received(), srv.Webhooks()
	if len(sent) != 1 || sent[0].Outcome != leadwaytest.WebhookDelivered || len(sent[0].Attempts) != 2 ||
		sent[0].Attempts[0].Status != http.StatusTooManyRequests || sent[0].Attempts[1].Status != http.StatusOK {
		t.Fatalf("the fake recorded %+v", sent)
	}
	if len(got) != 2 || got[0].WebhookID != got[1].WebhookID || got[0].WebhookID != sent[0].WebhookID {
		t.Errorf("the function saw %d calls (ids %v), want the failed call and the redelivery of one id", len(got), got)
	}
	if lost := srv.LostWebhooks(); len(lost) != 0 {
		t.Errorf("lost %d events", len(lost))
	}
}

// TestEndToEndNaiveReceiverLosesEvents: a receiver that answers 500 when
// its database is down, as hand-written examples do, loses the event for
// good, and the fake shows it.
func TestEndToEndNaiveReceiverLosesEvents(t *testing.T) {
	naive := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	}))
	defer naive.Close()
	srv := leadwaytest.NewServer(leadwaytest.WithWebhook(naive.URL), leadwaytest.WithWebhookRetry(time.Millisecond, 6))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Upsert(t.Context(), leadway.UpsertRequest{PipelineId: "p", LocationId: "l"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	lost := srv.LostWebhooks()
	if len(lost) != 1 || lost[0].Type != "OpportunityCreate" || len(lost[0].Attempts) != 1 || lost[0].Attempts[0].Status != 500 {
		t.Errorf("LostWebhooks = %+v", lost)
	}
}
