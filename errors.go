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
// header value, or credentials a token endpoint refused. A token endpoint
// that cannot be reached is not an invalid token. The error never contains
// the token itself.
var ErrInvalidToken = errors.New("leadway: invalid token")

// ErrResponseTooLarge is wrapped by a [*ResponseError] when a successful
// response body exceeds the limit set with [WithMaxResponseBytes].
var ErrResponseTooLarge = errors.New("response body exceeds the size limit")

// ValidationError reports a field of a request that the contract forbids.
// It comes inside [ValidationErrors], before anything is sent.
type ValidationError struct {
	// Field is the JSON name of the offending field, such as "pipelineId".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *ValidationError) Error() string {
	return "leadway: invalid request: " + e.Field + ": " + e.Reason
}

// ValidationErrors lists every problem of a request, in the order of the
// request's fields, so that all of them can be fixed at once. [Client.Upsert]
// and [Validate] return it, never empty; errors.As with a *ValidationError
// finds the first problem.
type ValidationErrors []*ValidationError

func (e ValidationErrors) Error() string {
	var b strings.Builder
	b.WriteString("leadway: invalid request: ")
	for i, v := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Field + ": " + v.Reason)
	}
	return b.String()
}

// Unwrap returns each problem, for errors.As and errors.Is.
func (e ValidationErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, v := range e {
		errs[i] = v
	}
	return errs
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
	// Body is the response body, cut at the client's size limit, with any
	// token the server echoed replaced by REDACTED.
	Body []byte
	// Header holds the response headers, redacted like Body: credential
	// headers such as Set-Cookie keep no value.
	Header http.Header
	// RateLimit holds the rate-limit figures the response announced.
	RateLimit RateLimit
	// Attempts is how many requests the call sent for this answer, retries
	// included. Following a redirect is a new request, not an attempt.
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

// RateLimitError reports a call stopped by a rate budget: a 429 answer, or
// the [Limiter] refusing to send. When Daily is true the day's budget is
// used up and the call was not retried; otherwise the client retried until
// its retry budget ran out, or the limiter would have held a retry longer
// than [WithMaxRetryWait].
//
// APIError is nil when nothing was sent: the limiter stopped the call before
// its first attempt, because the daily budget was spent or the next free
// slot lay past the context's deadline. Every method and field of a
// RateLimitError is safe to use then.
type RateLimitError struct {
	// APIError is the last answer, usually the 429; nil when the call
	// stopped before an answer.
	APIError *APIError
	// Daily reports that the day's budget is used up
	// (X-RateLimit-Daily-Remaining was 0, or the limiter says so).
	Daily bool
	// RetryAfter is how long to wait before trying again, 0 when nothing
	// says: the server's Retry-After-Ms or Retry-After when it sent one (an
	// out-of-range value is the longest Duration); otherwise the burst
	// window, or for a used-up daily budget the time left until midnight
	// UTC (an estimate: the vendor does not document when the day rolls
	// over). When the limiter held a retry, it is the limiter's wait, or at
	// least the retry wait cap when the limiter does not say.
	RetryAfter time.Duration
	// RateLimit holds the figures of the last answer; it is the zero
	// RateLimit when nothing was sent (a refusal by the limiter).
	RateLimit RateLimit
	// Attempts is how many requests the call sent; 0 when nothing was sent.
	Attempts int

	held bool // the limiter would have held a retry past the cap
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	b.WriteString("leadway: rate limited")
	rl := e.RateLimit
	switch {
	case e.Daily:
		b.WriteString(": daily budget used up")
		if rl.DailyLimit > 0 {
			fmt.Fprintf(&b, " (limit %d)", rl.DailyLimit)
		}
	case e.held:
		b.WriteString(": the rate limiter would hold the retry past the retry wait cap")
	case rl == RateLimit{}:
		// The zero RateLimit: no answer was read.
	case rl.Remaining >= 0 || rl.Max >= 0 || rl.Interval > 0:
		b.WriteString(": ")
		switch {
		case rl.Remaining >= 0 && rl.Max >= 0:
			fmt.Fprintf(&b, "%d of %d requests left", rl.Remaining, rl.Max)
		case rl.Remaining >= 0:
			fmt.Fprintf(&b, "%d requests left", rl.Remaining)
		case rl.Max >= 0:
			fmt.Fprintf(&b, "%d requests allowed", rl.Max)
		default:
			b.WriteString("requests counted")
		}
		if rl.Interval > 0 {
			fmt.Fprintf(&b, " in the %s window", rl.Interval)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; try again in %s", roundWait(e.RetryAfter))
	}
	if e.Attempts == 0 && e.APIError == nil {
		b.WriteString("; nothing was sent")
	}
	return b.String()
}

// roundWait rounds a wait for reading: to the second from a minute on.
func roundWait(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
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
// it, or a 5xx other than 503 (a gateway may answer 502 or 504 after the API
// applied the request). The server may have applied the upsert, so a call
// without an opportunity id may already have created an opportunity: look it
// up before sending the call again. Calls that carry an id are retried
// instead, since repeating them is safe.
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
// Everything it keeps of the answer passes through the redactor.
func newAPIError(status int, header http.Header, rl RateLimit, body []byte, attempts int, red *redactor) *APIError {
	e := &APIError{
		StatusCode:  status,
		ContentType: header.Get("Content-Type"),
		Body:        red.Bytes(body),
		Header:      red.Header(header),
		RateLimit:   rl,
		Attempts:    attempts,
	}
	var shape struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(e.Body, &shape) != nil {
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
		e.Messages[i] = red.String(m)
	}
	return e
}

// statusError is the typed error for an answer that ends a call: a
// *RateLimitError for a 429, else an *APIError.
func statusError(o outcome, body []byte, attempts int, red *redactor, now time.Time) error {
	apiErr := newAPIError(o.resp.StatusCode, o.resp.Header, o.rl, body, attempts, red)
	if apiErr.StatusCode != http.StatusTooManyRequests {
		return apiErr
	}
	e := &RateLimitError{APIError: apiErr, Daily: o.rl.DailyExhausted(), RateLimit: o.rl, Attempts: attempts}
	if d, ok := serverWait(o, now); ok {
		e.RetryAfter = d
	}
	return e
}

func orUnknown(contentType string) string {
	if contentType == "" {
		return "no content type"
	}
	return contentType
}
