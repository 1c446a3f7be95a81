// Package webhook receives HighLevel's opportunity webhooks: it verifies
// each delivery's Ed25519 signature over the exact bytes received, refuses
// stale ones, drops copies, decodes the event into types generated from the
// contract (api/openapi.yaml), and answers so that nothing is lost.
//
//	h, err := webhook.NewHandler(func(ctx context.Context, e *webhook.Event) error {
//		if e.Type == webhook.OpportunityStageUpdate {
//			return moveDeal(ctx, e.Opportunity.Id, e.Opportunity.PipelineStageId)
//		}
//		return nil
//	})
//	if err != nil { ... }
//	http.Handle("POST /webhooks/leadway", h)
//
// # Answers, and what HighLevel does with them
//
// HighLevel delivers at least once, so copies are normal. It delivers again
// only after a 429 (6 more attempts, 10 minutes apart), and drops for good
// an event answered 5xx. So the handler answers 200 once the function
// succeeded (or for a copy of a delivery it already processed), and 429
// when the function failed, for example because a database was briefly
// down: that event comes again. It answers 401 to a delivery whose
// signature or timestamp it refuses, 400 to a body that is not an event,
// and 413 to one over the size cap. It never answers 5xx.
//
// # Failing closed
//
// Nothing reaches the function without a signature that verifies: not with
// no key, not with a signature that is not base64 of 64 bytes, not with an
// empty body. There is no fallback to the RSA signatures HighLevel
// deprecated (X-WH-Signature). Verification is the pure function [Verify],
// usable without the handler.
//
// # Replicas
//
// The ids of processed deliveries live in a [SeenStore]: by default in
// memory, per process. Replicas behind one URL share them through package
// github.com/leadwaycrm/leadway/redisseen and [WithSeen], so that a copy
// is dropped whichever replica it reaches.
//
// # Testing a receiver
//
// Package github.com/leadwaycrm/leadway/leadwaytest signs deliveries with a
// test key (leadwaytest.WebhookPublicKey, leadwaytest.SignWebhook), and
// its fake API sends them after each upsert (leadwaytest.WithWebhook), with
// HighLevel's retry rule.
//
// This package imports the standard library and the module's generated
// types only.
package webhook
