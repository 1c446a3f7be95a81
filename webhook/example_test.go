package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// Verify checks a delivery's signature over the bytes exactly as received.
// The fake's test key stands in for HighLevel's here; in production, pass
// webhook.DefaultPublicKey and the X-GHL-Signature header.
func ExampleVerify() {
	body := []byte(`{"type":"OpportunityCreate","id":"opp-1","monetaryValue":220.0,"webhookId":"wh-1","timestamp":"2026-05-01T09:30:00.000Z"}`)
	signature := leadwaytest.SignWebhook(body) // r.Header.Get(webhook.SignatureHeader)
	key := leadwaytest.WebhookPublicKey()      // webhook.DefaultPublicKey

	if err := webhook.Verify(body, signature, key); err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified")

	// The same event, decoded and encoded again (220.0 became 220), no
	// longer matches the signature.
	reencoded := []byte(strings.Replace(string(body), "220.0", "220", 1))
	err := webhook.Verify(reencoded, signature, key)
	fmt.Println(errors.Is(err, webhook.ErrSignatureMismatch), err)

	// Output:
	// verified
	// true webhook: signature refused: signature does not match the body
}

// NewHandler receives deliveries: it verifies, refuses replays, drops
// copies, decodes, and calls the function once per webhookId.
func ExampleNewHandler() {
	h, err := webhook.NewHandler(func(ctx context.Context, e *webhook.Event) error {
		switch e.Type {
		case webhook.OpportunityStageUpdate:
			fmt.Printf("opportunity %s moved to stage %s\n", e.Opportunity.Id, e.Opportunity.PipelineStageId)
		default:
			fmt.Printf("%s, ignored\n", e.Type)
		}
		return nil // an error would answer 429: HighLevel delivers again
	}, webhook.WithPublicKey(leadwaytest.WebhookPublicKey())) // default: HighLevel's key
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/leadway", h)

	// A delivery as HighLevel (here, the fake's key) signs it, then a copy.
	body := fmt.Sprintf(`{"type":"OpportunityStageUpdate","locationId":"loc-1","id":"opp-1","pipelineStageId":"stage-2","timestamp":%q,"webhookId":"wh-1"}`,
		time.Now().UTC().Format(time.RFC3339))
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/leadway", strings.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, leadwaytest.SignWebhook([]byte(body)))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}

	// Output:
	// opportunity opp-1 moved to stage stage-2
	// 200
	// 200
}
