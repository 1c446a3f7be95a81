package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"github.com/leadwaycrm/leadway/gen"
)

// EventType names an event, such as [OpportunityCreate]. HighLevel adds
// event types over time; one this package does not know still reaches the
// handler's function, with its Type and Raw body.
type EventType string

// The opportunity events, from the contract's OpportunityEventType. An
// [Event] of one of these types carries its fields in Opportunity.
const (
	OpportunityCreate              = EventType(gen.OpportunityEventTypeOpportunityCreate)
	OpportunityUpdate              = EventType(gen.OpportunityEventTypeOpportunityUpdate)
	OpportunityDelete              = EventType(gen.OpportunityEventTypeOpportunityDelete)
	OpportunityStageUpdate         = EventType(gen.OpportunityEventTypeOpportunityStageUpdate)
	OpportunityStatusUpdate        = EventType(gen.OpportunityEventTypeOpportunityStatusUpdate)
	OpportunityMonetaryValueUpdate = EventType(gen.OpportunityEventTypeOpportunityMonetaryValueUpdate)
	OpportunityAssignedToUpdate    = EventType(gen.OpportunityEventTypeOpportunityAssignedToUpdate)
)

// IsOpportunity reports whether t is one of the opportunity events.
func (t EventType) IsOpportunity() bool { return gen.OpportunityEventType(t).Valid() }

// OpportunityEvent is the body of an opportunity event, generated from the
// contract's OpportunityEvent schema ([gen.OpportunityEvent]). HighLevel
// promises none of the opportunity's fields, so a field the body leaves out
// reads as its zero value; Raw tells "absent" from "empty" when that
// matters. Fields:
//
//	Type            gen.OpportunityEventType // as Event.Type
//	LocationId      string
//	Timestamp       time.Time                // as Event.Timestamp
//	WebhookId       string                   // as Event.WebhookID
//	Id              string                   // the opportunity's ID
//	AssignedTo      string                   // user ID
//	ContactId       string
//	MonetaryValue   float64
//	Name            string
//	PipelineId      string
//	PipelineStageId string
//	Source          string
//	Status          gen.OpportunityStatus    // compare with leadway.StatusWon...; any string decodes
//	DateAdded       string                   // ISO 8601, as sent
type OpportunityEvent = gen.OpportunityEvent

// Event is a delivery that was verified and decoded.
type Event struct {
	// Type names the event, such as OpportunityStageUpdate.
	Type EventType
	// LocationID is the sub-account the event happened in; "" if the body
	// has none.
	LocationID string
	// WebhookID names the delivery; copies and redeliveries share it.
	WebhookID string
	// Timestamp is when the delivery was made.
	Timestamp time.Time
	// Opportunity holds the fields of an opportunity event: set when Type
	// is one of the Opportunity* types, nil otherwise.
	Opportunity *OpportunityEvent
	// Raw is the body exactly as received and verified, for event types
	// this package does not decode and for fields it does not know.
	Raw json.RawMessage
}

// Bounds on what a body may put in the fields a receiver keeps: ids go
// into the seen store, types into logs.
const (
	maxWebhookIDLen = 256
	maxTypeLen      = 256
)

// Decode decodes a delivery's body into an [Event]. Call it only on a body
// [Verify] accepted: it checks nothing about where the body came from, and
// nothing of its timestamp (the handler of [NewHandler] does both). A body
// that is not an event gives a [*DecodeError]: not a JSON object, type,
// timestamp (ISO 8601) or webhookId missing, a webhookId over 256 bytes, or
// an opportunity event with a field of the wrong type. The event's Raw is
// body itself, not a copy.
func Decode(body []byte) (*Event, error) {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &DecodeError{Reason: "not a JSON object"}
	}
	var env gen.WebhookEvent
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, decodeError(err)
	}
	switch {
	case env.Type == "":
		return nil, &DecodeError{Field: "type", Reason: "missing"}
	case len(env.Type) > maxTypeLen:
		return nil, &DecodeError{Field: "type", Reason: "longer than 256 bytes"}
	case env.WebhookId == "":
		return nil, &DecodeError{Field: "webhookId", Reason: "missing"}
	case len(env.WebhookId) > maxWebhookIDLen:
		return nil, &DecodeError{Field: "webhookId", Reason: "longer than 256 bytes"}
	case env.Timestamp.IsZero():
		return nil, &DecodeError{Field: "timestamp", Reason: "missing"}
	}
	e := &Event{
		Type:       EventType(env.Type),
		LocationID: env.LocationId,
		WebhookID:  env.WebhookId,
		Timestamp:  env.Timestamp,
		Raw:        body,
	}
	if e.Type.IsOpportunity() {
		var o OpportunityEvent
		if err := json.Unmarshal(body, &o); err != nil {
			return nil, decodeError(err)
		}
		e.Opportunity = &o
	}
	return e, nil
}

// decodeError names the field a JSON error is about, where it can.
func decodeError(err error) *DecodeError {
	var (
		typeErr  *json.UnmarshalTypeError
		parseErr *time.ParseError
		syntax   *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		want := "string"
		if k := typeErr.Type.Kind(); k == reflect.Float64 {
			want = "number"
		}
		return &DecodeError{Field: typeErr.Field, Reason: "must be a " + want + ", not " + typeErr.Value, Err: err}
	case errors.As(err, &parseErr):
		return &DecodeError{Field: "timestamp", Reason: "not an ISO 8601 time", Err: err}
	case errors.As(err, &syntax):
		return &DecodeError{Reason: "not valid JSON", Err: err}
	}
	// time.Time refuses a timestamp that is not a JSON string with a plain
	// error; it is the only other field that can fail.
	return &DecodeError{Field: "timestamp", Reason: "not an ISO 8601 time string", Err: err}
}
