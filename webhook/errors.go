package webhook

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reasons a signature is refused: the Reason of a [*SignatureError], matched
// with errors.Is.
var (
	// ErrNoPublicKey: the key to verify with is missing or is not a 32-byte
	// Ed25519 key. Nothing verifies without one.
	ErrNoPublicKey = errors.New("no Ed25519 public key to verify with")
	// ErrNoSignature: the X-GHL-Signature header is missing or empty.
	ErrNoSignature = errors.New("no " + SignatureHeader + " header")
	// ErrMalformedSignature: the signature is not base64 of 64 bytes.
	ErrMalformedSignature = errors.New("signature is not base64 of 64 bytes")
	// ErrEmptyBody: the body is empty; HighLevel never signs one.
	ErrEmptyBody = errors.New("empty body")
	// ErrSignatureMismatch: the signature is not the key's signature of
	// these bytes. The body was changed, or signed with another key.
	ErrSignatureMismatch = errors.New("signature does not match the body")
)

// ErrInProgress reports a copy of a delivery that arrived while the
// function was still running for another copy. The copy is answered 429, so
// that HighLevel delivers it again later, when it is a plain duplicate.
var ErrInProgress = errors.New("webhook: another copy of this delivery is being processed")

// ErrMethodNotAllowed reports a request other than a POST (answered 405).
var ErrMethodNotAllowed = errors.New("webhook: only POST delivers events")

// ErrStoreFull is returned by a [MemoryStore] that holds its limit of
// unexpired ids: a new delivery is answered 429 rather than processed
// without the means to drop its copies.
var ErrStoreFull = errors.New("webhook: seen store is full")

// SignatureError reports a delivery whose signature did not verify. Match it
// with errors.As; match its Reason with errors.Is against [ErrNoPublicKey],
// [ErrNoSignature], [ErrMalformedSignature], [ErrEmptyBody] or
// [ErrSignatureMismatch].
type SignatureError struct {
	// Reason is one of the sentinel errors above.
	Reason error
	// Detail adds what was wrong, such as the signature's length; it never
	// holds the signature or the body.
	Detail string
}

func (e *SignatureError) Error() string {
	msg := "webhook: signature refused: " + e.Reason.Error()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func (e *SignatureError) Unwrap() error { return e.Reason }

// DecodeError reports a verified body that is not an event: not a JSON
// object, a required field missing (type, timestamp, webhookId), a field of
// the wrong type, or an id over its length limit.
type DecodeError struct {
	// Field is the JSON name of the offending field, such as "timestamp",
	// or "" when the body as a whole is wrong.
	Field string
	// Reason says what is wrong, such as "missing".
	Reason string
	// Err is the JSON decoder's error, when there is one.
	Err error
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "webhook: not an event: " + e.Reason
	}
	return "webhook: not an event: " + e.Field + ": " + e.Reason
}

func (e *DecodeError) Unwrap() error { return e.Err }

// StaleError reports a delivery whose timestamp lies outside the accepted
// window: older than the max age ([WithMaxAge]), or further ahead of the
// clock than the skew allows ([WithMaxSkew]). A replay of an old body is
// refused this way once its id has left the seen store.
type StaleError struct {
	// Timestamp is the delivery's timestamp; Now the clock's time.
	Timestamp, Now time.Time
	// MaxAge and MaxSkew are the window's bounds.
	MaxAge, MaxSkew time.Duration
}

func (e *StaleError) Error() string {
	if age := e.Now.Sub(e.Timestamp); age > 0 {
		return fmt.Sprintf("webhook: timestamp %s is %s old, over the %s limit",
			e.Timestamp.UTC().Format(time.RFC3339Nano), age.Round(time.Millisecond), e.MaxAge)
	}
	return fmt.Sprintf("webhook: timestamp %s is %s ahead of the clock, over the %s allowed",
		e.Timestamp.UTC().Format(time.RFC3339Nano), e.Timestamp.Sub(e.Now).Round(time.Millisecond), e.MaxSkew)
}

// TooLargeError reports a body over the size limit ([WithMaxBodyBytes]).
type TooLargeError struct {
	// Limit is the limit in bytes.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("webhook: body over the %d-byte limit", e.Limit)
}

// HandlerError reports that the function given to [NewHandler] failed or
// panicked. The delivery is answered 429, so that HighLevel delivers it
// again, and its id is not marked as seen.
type HandlerError struct {
	// Err is the function's error; for a panic, an error naming its value.
	Err error
	// Panic is the value the function panicked with, or nil.
	Panic any
	// Stack is the stack of a panic, or nil.
	Stack []byte
}

func (e *HandlerError) Error() string { return "webhook: processing failed: " + e.Err.Error() }

func (e *HandlerError) Unwrap() error { return e.Err }

// StoreError reports that the [SeenStore] failed. A failed Claim answers 429
// (nothing is processed without the means to drop copies); a failed Done
// answers 200, since the event was processed, but a later copy may then be
// processed again.
type StoreError struct {
	// Op is the store's method: "claim", "done" or "release".
	Op string
	// Err is the store's error.
	Err error
}

func (e *StoreError) Error() string { return "webhook: seen store " + e.Op + ": " + e.Err.Error() }

func (e *StoreError) Unwrap() error { return e.Err }

// DeliveryError is what the function of [WithErrorFunc] receives: a
// delivery the handler answered with something other than 200, or a 200
// with a problem (a failed [SeenStore] Done). Err is the cause, one of the
// errors above; errors.As and errors.Is reach it through Unwrap.
type DeliveryError struct {
	// Status is the HTTP status the handler answered.
	Status int
	// WebhookID is the delivery's webhookId, when the body was verified and
	// decoded that far; "" otherwise.
	WebhookID string
	// Err is the cause.
	Err error
}

func (e *DeliveryError) Error() string {
	cause := strings.TrimPrefix(fmt.Sprint(e.Err), "webhook: ")
	if e.WebhookID == "" {
		return fmt.Sprintf("webhook: answered %d: %s", e.Status, cause)
	}
	return fmt.Sprintf("webhook: answered %d to delivery %s: %s", e.Status, e.WebhookID, cause)
}

func (e *DeliveryError) Unwrap() error { return e.Err }
