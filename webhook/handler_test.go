package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// TestHandlerRefuses: every delivery that is not signed, not fresh or not
// an event is refused with its status, a fixed answer, and a typed error
// for WithErrorFunc, and never reaches the function.
func TestHandlerRefuses(t *testing.T) {
	body := eventBody(t, "OpportunityCreate", "wh-1", now)
	sig := leadwaytest.SignWebhook(body)
	sigBytes, _ := decodeB64(sig)
	var decoded map[string]any
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatal(err)
	}
	reserialised, _ := json.MarshalIndent(decoded, "", "  ")
	flipped := bytes.Clone(body)
	flipped[bytes.Index(flipped, []byte("220"))] = '9' // "920": a bigger deal
	str := func(s string) *string { return &s }
	signedBody := func(b []byte) (*string, []byte) { return str(leadwaytest.SignWebhook(b)), b }

	type delivery struct {
		method string
		sig    *string
		body   []byte
		legacy bool // add an X-WH-Signature header
	}
	cases := []struct {
		name     string
		d        delivery
		opts     []webhook.Option
		status   int
		answer   string
		wantErr  error            // matched with errors.Is, when set
		wantType func(error) bool // matched with errors.As
	}{
		{"re-serialised body, original signature", delivery{sig: &sig, body: reserialised},
			nil, 401, "signature refused: signature does not match the body\n", webhook.ErrSignatureMismatch, as[*webhook.SignatureError]},
		{"one flipped byte", delivery{sig: &sig, body: flipped},
			nil, 401, "signature refused: signature does not match the body\n", webhook.ErrSignatureMismatch, as[*webhook.SignatureError]},
		{"missing header", delivery{body: body},
			nil, 401, "signature refused: no X-GHL-Signature header\n", webhook.ErrNoSignature, as[*webhook.SignatureError]},
		{"legacy RSA header only", delivery{body: body, legacy: true},
			nil, 401, "signature refused: no X-GHL-Signature header\n", webhook.ErrNoSignature, as[*webhook.SignatureError]},
		{"non-base64 signature", delivery{sig: str(strings.Repeat("!", 88)), body: body},
			nil, 401, "signature refused: signature is not base64 of 64 bytes\n", webhook.ErrMalformedSignature, as[*webhook.SignatureError]},
		{"63-byte signature", delivery{sig: str(encodeB64(sigBytes[:63])), body: body},
			nil, 401, "signature refused: signature is not base64 of 64 bytes\n", webhook.ErrMalformedSignature, as[*webhook.SignatureError]},
		{"empty body", delivery{sig: str(leadwaytest.SignWebhook(nil))},
			nil, 401, "signature refused: empty body\n", webhook.ErrEmptyBody, as[*webhook.SignatureError]},
		{"signed with HighLevel's key expected", delivery{sig: &sig, body: body},
			[]webhook.Option{webhook.WithPublicKey(webhook.DefaultPublicKey)}, 401, "signature refused: signature does not match the body\n", webhook.ErrSignatureMismatch, nil},
		{"stale timestamp", delivery{sig: nil, body: nil}, // filled below
			nil, 401, "timestamp outside the accepted window\n", nil, as[*webhook.StaleError]},
		{"timestamp too far ahead", delivery{},
			nil, 401, "timestamp outside the accepted window\n", nil, as[*webhook.StaleError]},
		{"signed, not JSON", delivery{body: []byte("hello")},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"signed JSON array", delivery{body: []byte(`[{"type":"OpportunityCreate"}]`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"signed null", delivery{body: []byte(`null`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"no webhookId", delivery{body: []byte(`{"type":"OpportunityCreate","timestamp":"2026-05-01T09:30:00.000Z"}`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"no timestamp", delivery{body: []byte(`{"type":"OpportunityCreate","webhookId":"wh-1"}`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"no type", delivery{body: []byte(`{"webhookId":"wh-1","timestamp":"2026-05-01T09:30:00.000Z"}`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"timestamp not ISO 8601", delivery{body: eventBody(t, "OpportunityCreate", "wh-1", now, `"timestamp":"yesterday"`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"timestamp a number", delivery{body: eventBody(t, "OpportunityCreate", "wh-1", now, `"timestamp":1746091800`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"monetaryValue a string", delivery{body: eventBody(t, "OpportunityUpdate", "wh-1", now, `"monetaryValue":"220"`)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"webhookId over 256 bytes", delivery{body: eventBody(t, "OpportunityCreate", strings.Repeat("w", 257), now)},
			nil, 400, "not an event\n", nil, as[*webhook.DecodeError]},
		{"body over the cap", delivery{body: body},
			[]webhook.Option{webhook.WithMaxBodyBytes(int64(len(body) - 1))}, 413, "Request Entity Too Large\n", nil, as[*webhook.TooLargeError]},
		{"GET", delivery{method: http.MethodGet, sig: &sig, body: body},
			nil, 405, "Method Not Allowed\n", webhook.ErrMethodNotAllowed, nil},
	}
	for i := range cases {
		tc := &cases[i]
		switch tc.name {
		case "stale timestamp":
			tc.d.sig, tc.d.body = signedBody(eventBody(t, "OpportunityCreate", "wh-1", now.Add(-webhook.DefaultMaxAge-time.Millisecond)))
		case "timestamp too far ahead":
			tc.d.sig, tc.d.body = signedBody(eventBody(t, "OpportunityCreate", "wh-1", now.Add(webhook.DefaultMaxSkew+time.Millisecond)))
		default:
			if tc.d.sig == nil && tc.d.body != nil && !tc.d.legacy && !strings.Contains(tc.name, "missing") {
				tc.d.sig = str(leadwaytest.SignWebhook(tc.d.body))
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newHandler(t, rec, tc.opts...)
			method := tc.d.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/webhooks", bytes.NewReader(tc.d.body))
			if tc.d.sig != nil {
				req.Header.Set(webhook.SignatureHeader, *tc.d.sig)
			}
			if tc.d.legacy {
				req.Header.Set("X-WH-Signature", encodeB64(bytes.Repeat([]byte{1}, 512)))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			wantAnswer(t, w, tc.status, tc.answer)
			if rec.calls() != 0 {
				t.Errorf("the function ran %d times", rec.calls())
			}
			derr := rec.lastError()
			if derr == nil || derr.Status != tc.status {
				t.Fatalf("WithErrorFunc got %v, want a DeliveryError with status %d", derr, tc.status)
			}
			if tc.wantErr != nil && !errors.Is(derr, tc.wantErr) {
				t.Errorf("error %v is not %v", derr, tc.wantErr)
			}
			if tc.wantType != nil && !tc.wantType(derr) {
				t.Errorf("error %v (%T) is not of the expected type", derr, derr.Err)
			}
		})
	}
}

// TestHandlerDelivers: a signed, fresh event reaches the function decoded,
// with its exact bytes, and is answered 200.
func TestHandlerDelivers(t *testing.T) {
	rec := &recorder{}
	h := newHandler(t, rec)
	ts := now.Add(-webhook.DefaultMaxAge) // the oldest accepted
	body := eventBody(t, "OpportunityStageUpdate", "wh-1", ts, `"unknownField":{"x":[1,2]}`)
	wantAnswer(t, signed(h, body), 200, "ok\n")
	if rec.calls() != 1 {
		t.Fatalf("function ran %d times, want 1", rec.calls())
	}
	e := rec.events[0]
	want := webhook.OpportunityEvent{
		Type: "OpportunityStageUpdate", LocationId: "loc-1", Id: "opp-1", AssignedTo: "user-1",
		ContactId: "contact-1", MonetaryValue: 220, Name: "Website redesign", PipelineId: "pipe-1",
		PipelineStageId: "stage-1", Source: "api", Status: "open", DateAdded: "2026-05-01T09:00:00.000Z",
		Timestamp: ts, WebhookId: "wh-1",
	}
	if e.Type != webhook.OpportunityStageUpdate || e.LocationID != "loc-1" || e.WebhookID != "wh-1" || !e.Timestamp.Equal(ts) {
		t.Errorf("event = %+v", e)
	}
	if e.Opportunity == nil || *e.Opportunity != want {
		t.Errorf("Opportunity = %+v,\nwant %+v", e.Opportunity, want)
	}
	if !bytes.Equal(e.Raw, body) {
		t.Errorf("Raw = %s, want the body as sent", e.Raw)
	}
	if d := rec.lastError(); d != nil {
		t.Errorf("WithErrorFunc was told %v", d)
	}
	// The newest accepted: the skew ahead of the clock.
	wantAnswer(t, signed(h, eventBody(t, "OpportunityCreate", "wh-2", now.Add(webhook.DefaultMaxSkew))), 200, "ok\n")
}

// TestHandlerUnknownType: a type the package does not decode still reaches
// the function, with its raw bytes, and without Opportunity.
func TestHandlerUnknownType(t *testing.T) {
	rec := &recorder{}
	h := newHandler(t, rec)
	body := []byte(`{"type":"ContactTagUpdate","locationId":"loc-1","tags":["vip"],"monetaryValue":"not a number","timestamp":"2026-05-01T09:29:00.000Z","webhookId":"wh-9"}`)
	wantAnswer(t, signed(h, body), 200, "ok\n")
	if rec.calls() != 1 {
		t.Fatalf("function ran %d times", rec.calls())
	}
	e := rec.events[0]
	if e.Type != "ContactTagUpdate" || e.Type.IsOpportunity() || e.Opportunity != nil || e.WebhookID != "wh-9" || e.LocationID != "loc-1" {
		t.Errorf("event = %+v", e)
	}
	if !bytes.Equal(e.Raw, body) {
		t.Errorf("Raw = %s, want %s", e.Raw, body)
	}
}

// TestHandlerDuplicate: a copy of a processed delivery is answered 200 and
// the function does not run again, however the copy arrives.
func TestHandlerDuplicate(t *testing.T) {
	rec := &recorder{}
	h := newHandler(t, rec)
	body := eventBody(t, "OpportunityCreate", "wh-1", now)
	wantAnswer(t, signed(h, body), 200, "ok\n")
	wantAnswer(t, signed(h, body), 200, "ok\n")
	// Same id, other bytes (a later delivery of the same event): a duplicate.
	wantAnswer(t, signed(h, eventBody(t, "OpportunityCreate", "wh-1", now.Add(time.Second))), 200, "ok\n")
	if rec.calls() != 1 {
		t.Errorf("function ran %d times, want 1", rec.calls())
	}
	wantAnswer(t, signed(h, eventBody(t, "OpportunityCreate", "wh-2", now)), 200, "ok\n")
	if rec.calls() != 2 {
		t.Errorf("a new id: function ran %d times in all, want 2", rec.calls())
	}
}

// TestHandlerFailureAsksAgain: a failing function gives 429, the one answer
// HighLevel delivers again after, and the id is not marked seen, so the
// redelivery runs the function again.
func TestHandlerFailureAsksAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*webhook.Event) error
		want func(error) bool
	}{
		{"error", func(*webhook.Event) error { return errors.New("database unavailable") }, as[*webhook.HandlerError]},
		{"panic", func(*webhook.Event) error { panic("nil map") }, func(err error) bool {
			var he *webhook.HandlerError
			return errors.As(err, &he) && he.Panic == "nil map" && len(he.Stack) > 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{fail: tc.fail}
			h := newHandler(t, rec)
			body := eventBody(t, "OpportunityStatusUpdate", "wh-1", now)
			wantAnswer(t, signed(h, body), 429, "not processed; deliver it again later\n")
			if d := rec.lastError(); d == nil || d.Status != 429 || d.WebhookID != "wh-1" || !tc.want(d) {
				t.Errorf("WithErrorFunc got %v", d)
			}
			rec.mu.Lock()
			rec.fail = nil
			rec.mu.Unlock()
			wantAnswer(t, signed(h, body), 200, "ok\n") // HighLevel's redelivery
			wantAnswer(t, signed(h, body), 200, "ok\n") // and a copy of it
			if rec.calls() != 2 {
				t.Errorf("function ran %d times, want 2 (the failure, then the redelivery)", rec.calls())
			}
		})
	}
}

// TestHandlerLateRedelivery: HighLevel redelivers an event answered 429 up
// to 6 times, 10 minutes apart plus a jitter, with its first timestamp. The
// handler accepts those late copies of an id it answered 429, until the
// horizon, and refuses any other delivery older than the max age.
func TestHandlerLateRedelivery(t *testing.T) {
	var (
		mu    sync.Mutex
		clock = now
	)
	at := func(d time.Duration) {
		mu.Lock()
		clock = now.Add(d)
		mu.Unlock()
	}
	down := errors.New("database unavailable")
	rec := &recorder{fail: func(*webhook.Event) error { return down }}
	h := newHandler(t, rec, webhook.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}))
	body := eventBody(t, "OpportunityStageUpdate", "wh-1", now)
	for i := range 6 { // the first delivery and five redeliveries fail
		at(time.Duration(i)*(10*time.Minute) + time.Duration(i)*17*time.Second)
		wantAnswer(t, signed(h, body), 429, "not processed; deliver it again later\n")
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	at(61 * time.Minute) // the sixth redelivery
	wantAnswer(t, signed(h, body), 200, "ok\n")
	at(62 * time.Minute) // a copy of it
	wantAnswer(t, signed(h, body), 200, "ok\n")
	if rec.calls() != 7 {
		t.Errorf("function ran %d times, want 7", rec.calls())
	}

	// A body never answered 429, as old: a replay, refused.
	at(10 * time.Minute)
	wantAnswer(t, signed(h, eventBody(t, "OpportunityStageUpdate", "wh-2", now)), 401, "timestamp outside the accepted window\n")
	if d := rec.lastError(); d == nil || d.WebhookID != "wh-2" || !as[*webhook.StaleError](d) {
		t.Errorf("WithErrorFunc got %v", d)
	}
	// A failed id is awaited only until the horizon.
	at(0)
	rec.mu.Lock()
	rec.fail = func(*webhook.Event) error { return down }
	rec.mu.Unlock()
	late := eventBody(t, "OpportunityStageUpdate", "wh-3", now)
	wantAnswer(t, signed(h, late), 429, "not processed; deliver it again later\n")
	at(webhook.DefaultRedeliveryHorizon + time.Second)
	wantAnswer(t, signed(h, late), 401, "timestamp outside the accepted window\n")
	if rec.calls() != 8 {
		t.Errorf("function ran %d times, want 8", rec.calls())
	}
}

// TestHandlerAbortHandler: a function that panics with http.ErrAbortHandler
// gets the connection cut, as net/http does, and its claim is released.
func TestHandlerAbortHandler(t *testing.T) {
	calls := 0
	h, err := webhook.NewHandler(func(_ context.Context, _ *webhook.Event) error {
		calls++
		if calls == 1 {
			panic(http.ErrAbortHandler)
		}
		return nil
	}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey()), webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody(t, "OpportunityCreate", "wh-1", now)
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		signed(h, body)
	}()
	wantAnswer(t, signed(h, body), 200, "ok\n")
	if calls != 2 {
		t.Errorf("function ran %d times, want 2", calls)
	}
}

// TestHandlerReadsAnyLength: bodies of every size around the buffer's
// first capacity and the cap read whole or are refused at the cap, with a
// Content-Length or without one.
func TestHandlerReadsAnyLength(t *testing.T) {
	for _, n := range []int{1, 511, 512, 513, 64<<10 - 1, 64 << 10, 64<<10 + 1, 200_000} {
		for _, chunked := range []bool{false, true} {
			pad := strings.Repeat("x", n)
			body := eventBody(t, "ContactCreate", "wh-len", now, `"pad":"`+pad+`"`)
			rec := &recorder{}
			h := newHandler(t, rec, webhook.WithMaxBodyBytes(int64(len(body))))
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			if chunked {
				req.ContentLength = -1
			}
			req.Header.Set(webhook.SignatureHeader, leadwaytest.SignWebhook(body))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 || rec.calls() != 1 || !bytes.Equal(rec.events[0].Raw, body) {
				t.Errorf("pad %d, chunked %t: answer %d, %d calls", n, chunked, w.Code, rec.calls())
			}
			over := newHandler(t, &recorder{}, webhook.WithMaxBodyBytes(int64(len(body)-1)))
			req = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			if chunked {
				req.ContentLength = -1
			}
			req.Header.Set(webhook.SignatureHeader, leadwaytest.SignWebhook(body))
			w = httptest.NewRecorder()
			over.ServeHTTP(w, req)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("pad %d, chunked %t, one byte over the cap: answer %d", n, chunked, w.Code)
			}
		}
	}
}
