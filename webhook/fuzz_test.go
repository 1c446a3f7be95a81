package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// FuzzHandler feeds the handler arbitrary bodies and signature headers,
// some signed with the trusted key (sign) so that decoding is explored too.
// Properties: no panic; only the documented statuses and answers; the
// function runs only for a body whose signature, as sent, verifies, and
// then gets the exact bytes.
func FuzzHandler(f *testing.F) {
	for _, typ := range []string{"OpportunityCreate", "OpportunityStageUpdate", "ContactCreate"} {
		body := eventBody(f, typ, "wh-"+typ, now)
		f.Add(body, leadwaytest.SignWebhook(body), false)
		f.Add(body, "", true)
	}
	f.Add([]byte(`{"type":"OpportunityUpdate","monetaryValue":"1","webhookId":"w","timestamp":"2026-05-01T09:30:00Z"}`), "", true)
	f.Add([]byte(`{"type":"x","webhookId":"w","timestamp":"0001-01-01T00:00:00Z"}`), "", true)
	f.Add([]byte(`[]`), "", true)
	f.Add([]byte{}, "", true)
	f.Add([]byte("{}"), "AAAA", false)

	var (
		called []*webhook.Event
		store  *webhook.MemoryStore // fresh for each input, so that no input is a duplicate of another
	)
	h, err := webhook.NewHandler(func(_ context.Context, e *webhook.Event) error {
		called = append(called, e)
		if bytes.Contains(e.Raw, []byte("fail")) {
			return context.DeadlineExceeded
		}
		return nil
	}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey()), webhook.WithClock(func() time.Time { return now }),
		webhook.WithMaxBodyBytes(4096), webhook.WithSeen(seenFunc(func() webhook.SeenStore { return store })))
	if err != nil {
		f.Fatal(err)
	}
	key := leadwaytest.WebhookPublicKey()
	answers := map[string]bool{
		"ok\n": true, "not an event\n": true, "Request Entity Too Large\n": true,
		"timestamp outside the accepted window\n":                                    true,
		"not processed; deliver it again later\n":                                    true,
		"another copy of this delivery is being processed; deliver it again later\n": true,
	}
	for _, reason := range []error{webhook.ErrNoSignature, webhook.ErrMalformedSignature, webhook.ErrEmptyBody, webhook.ErrSignatureMismatch} {
		answers["signature refused: "+reason.Error()+"\n"] = true
	}

	check := func(t testing.TB, body []byte, sig string, sign bool) {
		if sign {
			sig = leadwaytest.SignWebhook(body)
		}
		called, store = called[:0], webhook.NewMemoryStore(16)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)

		switch w.Code {
		case 200, 400, 401, 413, 429:
		default:
			t.Fatalf("status %d", w.Code)
		}
		if !answers[w.Body.String()] {
			t.Fatalf("unexpected answer %q", w.Body.String())
		}
		if len(called) == 0 {
			return
		}
		if len(called) > 1 {
			t.Fatalf("the function ran %d times for one delivery", len(called))
		}
		if err := webhook.Verify(body, sig, key); err != nil {
			t.Fatalf("the function ran for a delivery that does not verify: %v", err)
		}
		if !bytes.Equal(called[0].Raw, body) {
			t.Fatalf("Raw %q differs from the body %q", called[0].Raw, body)
		}
		if w.Code != 200 && w.Code != 429 {
			t.Fatalf("the function ran, and the answer is %d", w.Code)
		}
	}
	// The harness itself must let a signed event through, or the
	// properties above would hold for want of trying.
	check(f, eventBody(f, "OpportunityCreate", "wh-harness", now), "", true)
	if len(called) != 1 {
		f.Fatal("a signed, fresh event did not reach the function")
	}
	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) { check(t, body, sig, sign) })
}
