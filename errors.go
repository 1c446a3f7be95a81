package leadway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// ErrInvalidToken reports a token that is empty or could not be sent as a
// header value. The error never contains the token itself.
var ErrInvalidToken = errors.New("leadway: invalid token")

// ErrResponseTooLarge is wrapped by a [*ResponseError] when a successful
// response body exceeds the limit set with [WithMaxResponseBytes].
var ErrResponseTooLarge = errors.New("response body exceeds the size limit")

// ValidationError reports a request that the contract forbids. It is returned
// before anything is sent.
type ValidationError struct {
	// Field is the JSON name of the offending field, such as "pipelineId".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *ValidationError) Error() string {
	return "leadway: invalid request: " + e.Field + ": " + e.Reason
}

// APIError is a non-2xx answer from the API. Match it with errors.As; it is
// also what a [*RateLimitError] or an [*UnknownOutcomeError] wraps.
type APIError struct {
	// StatusCode is the HTTP status, such as 422.
	StatusCode int
	// Messages holds the server's message, or each of its messages when it
	// sends a list (as 422 answers do). It is empty when the body is not
	// the vendor's JSON error shape, such as a proxy's HTML page.
	Messages []string
	// ContentType is the response's Content-Type header.
	ContentType string
	// Body is the raw response body, cut at the client's size limit.
	Body []byte
	// RateLimit holds the rate-limit figures the response announced.
	RateLimit RateLimit
	// Attempts is how many requests the call sent, retries included.
	Attempts int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leadway: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		// One line, whatever the server put in its messages.
		b.WriteString(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, strings.Join(e.Messages, "; ")))
	} else if len(e.Body) > 0 {
		fmt.Fprintf(&b, " (%d-byte %s body)", len(e.Body), orUnknown(e.ContentType))
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// RateLimitError is a 429 answer. When Daily is true the day's budget is used
// up and the call was not retried; otherwise the client retried until its
// retry budget ran out.
type RateLimitError struct {
	*APIError
	// Daily reports that X-RateLimit-Daily-Remaining was 0.
	Daily bool
	// RetryAfter is how long to wait before trying again: the server's
	// Retry-After when it sent one; otherwise the burst window, or for a
	// used-up daily budget the time left until midnight UTC (an estimate:
	// the vendor does not document when the day rolls over).
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	rl := e.RateLimit
	if e.Daily {
		return fmt.Sprintf("leadway: rate limited: daily budget used up (limit %s); try again in %s",
			figure(rl.DailyLimit), e.RetryAfter.Round(time.Second))
	}
	attempts := "1 attempt"
	if e.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.Attempts)
	}
	return fmt.Sprintf("leadway: rate limited: %s of %s requests left in the %s window after %s; try again in %s",
		figure(rl.Remaining), figure(rl.Max), rl.Interval, attempts, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns the underlying [*APIError], or nil for a refusal that
// came from the limiter, with no answer behind it.
func (e *RateLimitError) Unwrap() error {
	if e.APIError == nil {
		return nil
	}
	return e.APIError
}

// UnknownOutcomeError reports a failure after the request reached the server,
// such as a timeout waiting for the answer, a connection reset while reading
// it, or a 500. The server may have applied the upsert, so a call without an
// opportunity id may already have created an opportunity: look it up before
// sending the call again. Calls that carry an id are retried instead, since
// repeating them is safe.
type UnknownOutcomeError struct {
	// Err is the failure: a network error, a context error or an [*APIError].
	Err error
}

func (e *UnknownOutcomeError) Error() string {
	return "leadway: outcome unknown, the opportunity may have been written (check before sending again without an id): " +
		strings.TrimPrefix(e.Err.Error(), "leadway: ")
}

// Unwrap returns the underlying failure.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// ResponseError is a 2xx answer the client could not use: a body that is not
// JSON, is invalid JSON, misses a required field or exceeds the size limit.
// The server accepted the request, so the upsert has most likely been applied.
type ResponseError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// ContentType is the response's Content-Type header.
	ContentType string
	// Body is the raw response body, cut at the client's size limit.
	Body []byte
	// RateLimit holds the rate-limit figures the response announced.
	RateLimit RateLimit
	// Err says what was wrong.
	Err error
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("leadway: unusable %d response (%s, %d bytes): %v",
		e.StatusCode, orUnknown(e.ContentType), len(e.Body), e.Err)
}

// Unwrap returns what was wrong with the response.
func (e *ResponseError) Unwrap() error { return e.Err }

// newAPIError builds the error for a non-2xx answer, reading the vendor's
// error shape where the body has it: {"message": "..."} or {"message": [...]}.
func newAPIError(status int, header http.Header, body []byte, attempts int, auth *authorizer) *APIError {
	e := &APIError{
		StatusCode:  status,
		ContentType: header.Get("Content-Type"),
		Body:        body,
		RateLimit:   parseRateLimit(header),
		Attempts:    attempts,
	}
	var shape struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(body, &shape) != nil {
		return e
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(shape.Message, &one) == nil && one != "":
		e.Messages = []string{one}
	case json.Unmarshal(shape.Message, &many) == nil && len(many) > 0:
		e.Messages = many
	case shape.Error != "":
		e.Messages = []string{shape.Error}
	}
	for i, m := range e.Messages {
		e.Messages[i] = auth.redact(m)
	}
	return e
}

func orUnknown(contentType string) string {
	if contentType == "" {
		return "no content type"
	}
	return contentType
}

// figure prints a rate-limit figure, or "?" when the header was absent.
func figure(n int) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}
