package leadwaytest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

func TestWebhookKey(t *testing.T) {
	body := []byte(`{"type":"OpportunityCreate"}`)
	sig, err := base64.StdEncoding.DecodeString(leadwaytest.SignWebhook(body))
	if err != nil || !ed25519.Verify(leadwaytest.WebhookPublicKey(), body, sig) {
		t.Fatalf("SignWebhook does not verify with WebhookPublicKey (%v)", err)
	}
	der, err := x509.MarshalPKIXPublicKey(leadwaytest.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString(der); got != leadwaytest.WebhookPublicKeySPKI {
		t.Errorf("WebhookPublicKeySPKI = %s, want %s", leadwaytest.WebhookPublicKeySPKI, got)
	}
	k := leadwaytest.WebhookPublicKey()
	k[0] ^= 0xff
	if leadwaytest.WebhookPublicKey().Equal(k) {
		t.Error("WebhookPublicKey returns a shared slice")
	}
}

// received is one POST a receiver got.
type received struct {
	method, path, contentType, signature string
	body                                 []byte
}

// receiver is an HTTP server that records deliveries and answers with the
// statuses queued in answers, then 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Method, req.URL.Path, req.Header.Get("Content-Type"), req.Header.Get("X-GHL-Signature"), body})
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere") // which would answer 200
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

var uuidRE = regexp.MustCompile(`"webhookId":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"`)

// TestWebhooksFollowUpserts: each upsert through the client sends the
// events HighLevel would, signed, in order, with the opportunity's fields.
func TestWebhooksFollowUpserts(t *testing.T) {
	rcv := newReceiver(t)
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	srv := leadwaytest.NewServer(leadwaytest.WithWebhook(rcv.URL+"/hooks"), leadwaytest.WithClock(func() time.Time { return at }))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	base := leadway.UpsertRequest{Id: leadway.Ptr("deal-1"), PipelineId: "pipe-1", LocationId: "loc-1"}
	steps := []leadway.UpsertRequest{
		with(base, func(r *leadway.UpsertRequest) {
			r.Name, r.PipelineStageId, r.MonetaryValue, r.AssignedTo = leadway.Ptr("Website redesign"), leadway.Ptr("stage-1"), leadway.Ptr(220.0), leadway.Ptr("user-1")
		}),
		with(base, func(r *leadway.UpsertRequest) { r.Name = leadway.Ptr("Website redesign") }), // no tracked field changes
		with(base, func(r *leadway.UpsertRequest) { r.PipelineStageId = leadway.Ptr("stage-2") }),
		with(base, func(r *leadway.UpsertRequest) {
			r.Status, r.MonetaryValue, r.AssignedTo = leadway.Ptr(leadway.StatusWon), leadway.Ptr(1500.5), leadway.Ptr("user-2")
		}),
	}
	for _, req := range steps {
		if _, err := client.Upsert(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	// The fake writes type first, then the contract's fields in the
	// generated struct's order, then the timestamp.
	event := func(typ, assignedTo string, value float64, stage, status string) string {
		return fmt.Sprintf(`{"type":%q,"assignedTo":%q,"dateAdded":"2026-05-01T09:30:00.000Z","id":"deal-1",`+
			`"locationId":"loc-1","monetaryValue":%v,"name":"Website redesign","pipelineId":"pipe-1",`+
			`"pipelineStageId":%q,"source":"api","status":%q,"webhookId":"ID",`+
			`"timestamp":"2026-05-01T09:30:00.000Z"}`, typ, assignedTo, value, stage, status)
	}
	want := []string{
		event("OpportunityCreate", "user-1", 220, "stage-1", "open"),
		event("OpportunityUpdate", "user-1", 220, "stage-1", "open"),
		event("OpportunityUpdate", "user-1", 220, "stage-2", "open"),
		event("OpportunityStageUpdate", "user-1", 220, "stage-2", "open"),
		event("OpportunityUpdate", "user-2", 1500.5, "stage-2", "won"),
		event("OpportunityStatusUpdate", "user-2", 1500.5, "stage-2", "won"),
		event("OpportunityMonetaryValueUpdate", "user-2", 1500.5, "stage-2", "won"),
		event("OpportunityAssignedToUpdate", "user-2", 1500.5, "stage-2", "won"),
	}
	got := rcv.deliveries()
	if len(got) != len(want) {
		t.Fatalf("receiver got %d deliveries, want %d", len(got), len(want))
	}
	ids := map[string]bool{}
	for i, d := range got {
		m := uuidRE.FindSubmatch(d.body)
		if m == nil {
			t.Fatalf("delivery %d has no UUID webhookId: %s", i, d.body)
		}
		ids[string(m[1])] = true
		if body := uuidRE.ReplaceAllString(string(d.body), `"webhookId":"ID"`); body != want[i] {
			t.Errorf("delivery %d:\n got %s\nwant %s", i, body, want[i])
		}
		if d.method != http.MethodPost || d.path != "/hooks" || d.contentType != "application/json" || d.signature != leadwaytest.SignWebhook(d.body) {
			t.Errorf("delivery %d: %s %s, Content-Type %q, signature %q", i, d.method, d.path, d.contentType, d.signature)
		}
	}
	if len(ids) != len(want) {
		t.Errorf("%d distinct webhookIds for %d events", len(ids), len(want))
	}
	for _, w := range srv.Webhooks() {
		if w.Outcome != leadwaytest.WebhookDelivered || len(w.Attempts) != 1 || w.Attempts[0].Status != 200 || w.OpportunityID != "deal-1" {
			t.Errorf("record %+v", w)
		}
	}
	if lost := srv.LostWebhooks(); len(lost) != 0 {
		t.Errorf("LostWebhooks = %d, want none", len(lost))
	}
}

func with(r leadway.UpsertRequest, f func(*leadway.UpsertRequest)) leadway.UpsertRequest {
	f(&r)
	return r
}

// TestWebhookRetryRule: only a 429 is delivered again, with the same id and
// bytes; a 5xx, another refusal, a redirect or an unreachable receiver
// drops the event, and the fake records it as lost.
func TestWebhookRetryRule(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name     string
		answers  []int
		url      string // default: the receiver's
		attempts int
		outcome  leadwaytest.WebhookOutcome
		statuses []int
	}{
		{"429 then 200", []int{429, 429, 200}, "", 6, leadwaytest.WebhookDelivered, []int{429, 429, 200}},
		{"429 until the attempts run out", []int{429, 429, 429, 429}, "", 2, leadwaytest.WebhookExhausted, []int{429, 429, 429}},
		{"500 is final", []int{500, 200}, "", 6, leadwaytest.WebhookDropped, []int{500}},
		{"503 is final", []int{503, 200}, "", 6, leadwaytest.WebhookDropped, []int{503}},
		{"401 is final", []int{401, 200}, "", 6, leadwaytest.WebhookDropped, []int{401}},
		{"a redirect is not followed", []int{307, 200}, "", 6, leadwaytest.WebhookDropped, []int{307}},
		{"unreachable", nil, closed.URL, 6, leadwaytest.WebhookDropped, []int{0}},
		{"no redelivery", []int{429, 200}, "", 0, leadwaytest.WebhookExhausted, []int{429}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.answers...)
			url := rcv.URL
			if tc.url != "" {
				url = tc.url
			}
			srv := leadwaytest.NewServer(leadwaytest.WithWebhook(url), leadwaytest.WithWebhookRetry(time.Millisecond, tc.attempts))
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
			all := srv.Webhooks()
			if len(all) != 1 {
				t.Fatalf("%d events recorded, want 1", len(all))
			}
			w := all[0]
			var statuses []int
			for _, a := range w.Attempts {
				statuses = append(statuses, a.Status)
				if a.Status == 0 && a.Err == "" {
					t.Error("an attempt without an answer says nothing of why")
				}
			}
			if w.Outcome != tc.outcome || !equalInts(statuses, tc.statuses) {
				t.Errorf("outcome %v after %v, want %v after %v", w.Outcome, statuses, tc.outcome, tc.statuses)
			}
			if got := rcv.deliveries(); tc.url == "" && len(got) != len(tc.statuses) {
				t.Errorf("receiver got %d POSTs, want %d", len(got), len(tc.statuses))
			} else {
				for _, d := range got {
					if !bytes.Equal(d.body, w.Body) || d.signature != w.Signature {
						t.Errorf("a redelivery differs from the first: %s", d.body)
					}
				}
			}
			lost := len(srv.LostWebhooks()) == 1
			if lost != (tc.outcome != leadwaytest.WebhookDelivered) {
				t.Errorf("LostWebhooks has it: %t, outcome %v", lost, w.Outcome)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWebhookCloseWithPending: Close stops a redelivery that is waiting;
// the event stays pending, and WaitWebhooks says so rather than hang.
func TestWebhookCloseWithPending(t *testing.T) {
	rcv := newReceiver(t, 429)
	srv := leadwaytest.NewServer(leadwaytest.WithWebhook(rcv.URL), leadwaytest.WithWebhookRetry(time.Hour, 1))
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Upsert(t.Context(), leadway.UpsertRequest{PipelineId: "p", LocationId: "l"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := srv.WaitWebhooks(ctx); err != context.DeadlineExceeded {
		t.Errorf("WaitWebhooks with a redelivery an hour away = %v, want the context's deadline", err)
	}
	srv.Close()
	if err := srv.WaitWebhooks(t.Context()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("WaitWebhooks after Close = %v", err)
	}
	if w := srv.Webhooks(); len(w) != 1 || w[0].Outcome != leadwaytest.WebhookPending {
		t.Errorf("Webhooks = %+v", w)
	}
}

func TestWebhookOptions(t *testing.T) {
	for _, opt := range []leadwaytest.Option{
		leadwaytest.WithWebhook(""),
		leadwaytest.WithWebhook("localhost:8081"),
		leadwaytest.WithWebhook("ftp://example.com/hook"),
		leadwaytest.WithWebhook("/hooks"),
		leadwaytest.WithWebhookRetry(0, 1),
		leadwaytest.WithWebhookRetry(time.Second, -1),
		leadwaytest.WithWebhookRetry(time.Second, 101),
	} {
		if srv, err := leadwaytest.Start(opt); err == nil {
			srv.Close()
			t.Error("Start accepted an invalid webhook option")
		}
	}
	srv := leadwaytest.NewServer()
	defer srv.Close()
	if srv.Webhooks() != nil || srv.LostWebhooks() != nil || srv.WaitWebhooks(t.Context()) != nil {
		t.Error("a fake without WithWebhook reports webhooks")
	}
}
