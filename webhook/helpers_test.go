package webhook_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
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

// now is the clock of the handler tests.
var now = time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)

// eventBody is a delivery's body as HighLevel writes it, with fields in its
// order; extra replaces or adds fields.
func eventBody(t testing.TB, typ, webhookID string, ts time.Time, extra ...string) []byte {
	t.Helper()
	fields := []string{
		`"type":` + quote(typ),
		`"locationId":"loc-1"`,
		`"id":"opp-1"`,
		`"assignedTo":"user-1"`,
		`"contactId":"contact-1"`,
		`"monetaryValue":220`,
		`"name":"Website redesign"`,
		`"pipelineId":"pipe-1"`,
		`"pipelineStageId":"stage-1"`,
		`"source":"api"`,
		`"status":"open"`,
		`"dateAdded":"2026-05-01T09:00:00.000Z"`,
		`"timestamp":` + quote(ts.UTC().Format("2006-01-02T15:04:05.000Z")),
		`"webhookId":` + quote(webhookID),
	}
	for _, e := range extra {
		name, _, _ := strings.Cut(e, ":")
		replaced := false
		for i, f := range fields {
			if strings.HasPrefix(f, name+":") {
				fields[i], replaced = e, true
			}
		}
		if !replaced {
			fields = append(fields, e)
		}
	}
	return []byte("{" + strings.Join(fields, ",") + "}")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// recorder collects what the handler's function received, and what
// WithErrorFunc was told.
type recorder struct {
	mu     sync.Mutex
	events []*webhook.Event
	errs   []*webhook.DeliveryError
	fail   func(e *webhook.Event) error // nil: succeed
}

func (r *recorder) fn(_ context.Context, e *webhook.Event) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(e)
	}
	return nil
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) lastError() *webhook.DeliveryError {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == 0 {
		return nil
	}
	return r.errs[len(r.errs)-1]
}

// newHandler returns a handler verifying with the fake's key on the fixed
// clock, feeding rec; opts come after those and may override them.
func newHandler(t testing.TB, rec *recorder, opts ...webhook.Option) http.Handler {
	t.Helper()
	base := []webhook.Option{
		webhook.WithPublicKey(leadwaytest.WebhookPublicKey()),
		webhook.WithClock(func() time.Time { return now }),
		webhook.WithErrorFunc(func(_ *http.Request, err *webhook.DeliveryError) {
			rec.mu.Lock()
			rec.errs = append(rec.errs, err)
			rec.mu.Unlock()
		}),
	}
	h, err := webhook.NewHandler(rec.fn, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// post delivers body with the given signature header (none when sig is
// nil) and returns the answer.
func post(h http.Handler, body []byte, sig *string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if sig != nil {
		req.Header.Set(webhook.SignatureHeader, *sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// signed delivers body with the fake's signature of it.
func signed(h http.Handler, body []byte) *httptest.ResponseRecorder {
	sig := leadwaytest.SignWebhook(body)
	return post(h, body, &sig)
}

func wantAnswer(t testing.TB, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Errorf("answer = %d %q, want %d %q", w.Code, w.Body.String(), status, body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// as is errors.As for a target type, for table tests.
func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func ptr[T any](v T) *T { return &v }

func ed25519GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(nil)
}

func sign(priv ed25519.PrivateKey, body []byte) string {
	return encodeB64(ed25519.Sign(priv, body))
}
