package leadwaytest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/gen"
)

// Defaults of [WithWebhookRetry]: HighLevel's schedule, which delivers an
// event again only after a 429, up to 6 more times, 10 minutes apart (plus
// a jitter the fake leaves out).
const (
	DefaultWebhookRetryInterval = 10 * time.Minute
	DefaultWebhookRetryAttempts = 6
)

// WebhookPublicKeySPKI is [WebhookPublicKey] in the form HighLevel publishes
// its own key: base64 of the SPKI encoding. Pass it to
// `leadway webhook listen --public-key` to receive what `leadway fake
// --webhook-url` sends.
const WebhookPublicKeySPKI = "MCowBQYDK2VwAyEA6n35kcRgnPcimZcWqQMZzbLGTLhKQyEj6NDpHa03QNw="

// webhookKey is the fake's signing key. It is derived from a fixed string,
// so it is the same in every process and public to everyone: it proves
// nothing outside tests.
var webhookKey = func() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("leadwaytest: the fake's webhook signing key, public on purpose"))
	return ed25519.NewKeyFromSeed(seed[:])
}()

// WebhookPublicKey returns the public key of the fake's webhook signatures,
// for webhook.WithPublicKey in tests. Each call returns a new copy.
func WebhookPublicKey() ed25519.PublicKey {
	return bytes.Clone(webhookKey.Public().(ed25519.PublicKey))
}

// SignWebhook returns the X-GHL-Signature value the fake sends with body:
// base64 of the Ed25519 signature of body's exact bytes with the fake's
// key, which [WebhookPublicKey] verifies. Use it to sign deliveries in
// unit tests of a receiver.
func SignWebhook(body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(webhookKey, body))
}

// webhookConfig is what the webhook options set.
type webhookConfig struct {
	url      string
	interval time.Duration
	attempts int
	retrySet bool
}

// WithWebhook makes the fake deliver HighLevel's opportunity webhooks to
// url, signed with the key of [WebhookPublicKey], after each successful
// upsert: OpportunityCreate for a create; for an update, OpportunityUpdate,
// then OpportunityStageUpdate, OpportunityStatusUpdate,
// OpportunityMonetaryValueUpdate and OpportunityAssignedToUpdate for the
// fields the update changed. Deliveries go out one at a time, in order, in
// the background; each is a POST of the event's JSON body with the headers
// Content-Type: application/json and X-GHL-Signature, and a 10-second
// timeout.
//
// What the receiver answers decides the rest, as HighLevel decides it:
// a 2xx delivers the event; a 429 has it delivered again, with the same
// webhookId and the same bytes, on the schedule of [WithWebhookRetry]; any
// other answer, a redirect, a timeout or a refused connection drops it for
// good. [Server.Webhooks] lists every event and what became of it,
// [Server.LostWebhooks] those production would lose, and
// [Server.WaitWebhooks] waits for deliveries in progress. Default: no
// webhooks.
func WithWebhook(rawURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("leadwaytest: webhook URL %q: must be an absolute http or https URL", rawURL)
		}
		c.webhook.url = u.String()
		return nil
	}
}

// WithWebhookRetry sets how an event answered 429 is delivered again: after
// interval, up to attempts more times. Tests shorten HighLevel's schedule
// with it; attempts 0 turns redelivery off. Default:
// [DefaultWebhookRetryInterval], [DefaultWebhookRetryAttempts].
func WithWebhookRetry(interval time.Duration, attempts int) Option {
	return func(c *config) error {
		if interval < time.Millisecond {
			return fmt.Errorf("leadwaytest: webhook retry interval %s: must be at least 1ms", interval)
		}
		if attempts < 0 || attempts > 100 {
			return fmt.Errorf("leadwaytest: webhook retry attempts %d: must be between 0 and 100", attempts)
		}
		c.webhook.interval, c.webhook.attempts, c.webhook.retrySet = interval, attempts, true
		return nil
	}
}

// opportunityEvents lists the events an upsert causes, in the order they
// are sent.
func opportunityEvents(created bool, before, after *leadway.Opportunity) []gen.OpportunityEventType {
	if created {
		return []gen.OpportunityEventType{gen.OpportunityEventTypeOpportunityCreate}
	}
	events := []gen.OpportunityEventType{gen.OpportunityEventTypeOpportunityUpdate}
	if before.PipelineStageId != after.PipelineStageId {
		events = append(events, gen.OpportunityEventTypeOpportunityStageUpdate)
	}
	if before.Status != after.Status {
		events = append(events, gen.OpportunityEventTypeOpportunityStatusUpdate)
	}
	if before.MonetaryValue != after.MonetaryValue {
		events = append(events, gen.OpportunityEventTypeOpportunityMonetaryValueUpdate)
	}
	if before.AssignedTo != after.AssignedTo {
		events = append(events, gen.OpportunityEventTypeOpportunityAssignedToUpdate)
	}
	return events
}

// wireEvent is an event's body: the contract's OpportunityEvent, with type
// first, as HighLevel writes it, and the timestamp written as HighLevel
// writes it (milliseconds, Z) rather than as time.Time would. The outer
// fields hide the embedded ones of the same JSON name.
type wireEvent struct {
	Type gen.OpportunityEventType `json:"type"`
	gen.OpportunityEvent
	Timestamp string `json:"timestamp"`
}

// eventBody encodes one event about o, sent at now.
func eventBody(t gen.OpportunityEventType, o *leadway.Opportunity, webhookID string, now time.Time) ([]byte, error) {
	return json.Marshal(wireEvent{
		Type: t,
		OpportunityEvent: gen.OpportunityEvent{
			Type:            t,
			LocationId:      o.LocationId,
			Id:              o.Id,
			AssignedTo:      o.AssignedTo,
			ContactId:       o.ContactId,
			MonetaryValue:   o.MonetaryValue,
			Name:            o.Name,
			PipelineId:      o.PipelineId,
			PipelineStageId: o.PipelineStageId,
			Source:          o.Source,
			Status:          o.Status,
			DateAdded:       o.CreatedAt,
			WebhookId:       webhookID,
		},
		Timestamp: now.UTC().Format(timeLayout),
	})
}

// newWebhookID returns a random id in the UUID form HighLevel's have, so
// that events of two fakes never share one.
func newWebhookID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// queueWebhooks sends the events of one upsert, if [WithWebhook] is set.
// It runs under s.mu and never blocks.
func (s *Server) queueWebhooks(created bool, before, after *leadway.Opportunity) {
	if s.hooks == nil {
		return
	}
	now := s.cfg.now()
	for _, t := range opportunityEvents(created, before, after) {
		id := newWebhookID()
		body, err := eventBody(t, after, id, now)
		if err != nil { // a string and number struct cannot fail to encode
			panic(fmt.Sprintf("leadwaytest: encoding a webhook: %v", err))
		}
		s.hooks.enqueue(&WebhookDelivery{
			Type:          string(t),
			WebhookID:     id,
			OpportunityID: after.Id,
			Body:          body,
			Signature:     SignWebhook(body),
		})
	}
}

// errWebhooksClosed is what WaitWebhooks says when the fake closed first.
var errWebhooksClosed = errors.New("leadwaytest: the fake was closed with webhooks still pending")
