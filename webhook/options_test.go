package webhook_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/webhook"
)

// TestOptionsValidate: a bad option, or a nil function, is an error from
// NewHandler naming it, never a handler that fails later.
func TestOptionsValidate(t *testing.T) {
	fn := func(context.Context, *webhook.Event) error { return nil }
	if _, err := webhook.NewHandler(nil); err == nil || !strings.Contains(err.Error(), "nil function") {
		t.Errorf("NewHandler(nil) = %v", err)
	}
	for _, tc := range []struct {
		opt  webhook.Option
		want string
	}{
		{webhook.WithPublicKey(), "no key given"},
		{webhook.WithPublicKey(nil), "key 0 is 0 bytes"},
		{webhook.WithPublicKey(webhook.DefaultPublicKey, make(ed25519.PublicKey, 31)), "key 1 is 31 bytes"},
		{webhook.WithPublicKey(make([]ed25519.PublicKey, 9)...), "9 keys, at most 8"},
		{webhook.WithMaxAge(0), "WithMaxAge 0s"},
		{webhook.WithMaxAge(25 * time.Hour), "WithMaxAge 25h0m0s"},
		{webhook.WithMaxSkew(-time.Second), "WithMaxSkew -1s"},
		{webhook.WithMaxSkew(2 * time.Hour), "WithMaxSkew 2h0m0s"},
		{webhook.WithMaxBodyBytes(0), "WithMaxBodyBytes 0"},
		{webhook.WithClock(nil), "nil clock"},
		{webhook.WithSeen(nil), "nil store"},
		{webhook.WithErrorFunc(nil), "nil function"},
	} {
		h, err := webhook.NewHandler(fn, tc.opt)
		if err == nil || h != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewHandler(%s) = %v, %v; want an error containing %q", tc.want, h, err, tc.want)
		}
	}
}

// TestDecode: the field a body gets wrong is named.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, field, reason string
	}{
		{`"text"`, "", "not a JSON object"},
		{`  `, "", "not a JSON object"},
		{`{"type":`, "", "not valid JSON"},
		{`{"type":1,"webhookId":"w","timestamp":"2026-05-01T09:30:00Z"}`, "type", "must be a string, not number"},
		{`{"type":"OpportunityCreate","timestamp":"2026-05-01T09:30:00Z"}`, "webhookId", "missing"},
		{`{"type":"OpportunityCreate","webhookId":"w"}`, "timestamp", "missing"},
		{`{"type":"OpportunityCreate","webhookId":"w","timestamp":"2026-05-01"}`, "timestamp", "not an ISO 8601 time"},
		{`{"type":"OpportunityCreate","webhookId":"w","timestamp":true}`, "timestamp", "not an ISO 8601 time string"},
		{`{"type":"OpportunityUpdate","webhookId":"w","timestamp":"2026-05-01T09:30:00Z","monetaryValue":"1"}`, "monetaryValue", "must be a number, not string"},
		{`{"type":"OpportunityUpdate","webhookId":"w","timestamp":"2026-05-01T09:30:00Z","name":7}`, "name", "must be a string, not number"},
	} {
		_, err := webhook.Decode([]byte(tc.body))
		var de *webhook.DecodeError
		if !errors.As(err, &de) || de.Field != tc.field || de.Reason != tc.reason {
			t.Errorf("Decode(%s) = %v, want field %q reason %q", tc.body, err, tc.field, tc.reason)
		}
	}
	e, err := webhook.Decode([]byte(`{"type":"OpportunityDelete","id":"o","webhookId":"w","timestamp":"2026-05-01T09:30:00.000+02:00"}`))
	if err != nil || e.Opportunity == nil || e.Opportunity.Id != "o" || !e.Timestamp.Equal(time.Date(2026, 5, 1, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("Decode = %+v, %v", e, err)
	}
}
