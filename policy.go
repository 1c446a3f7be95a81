package leadway

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// Backoff between attempts that the server gave no wait for.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 8 * time.Second
)

// outcome is what one attempt produced: an answer with its body read, or an
// error, and whether the request may have reached the server.
type outcome struct {
	resp *http.Response // nil when err is set
	rl   RateLimit      // of resp
	err  error
	sent bool
	// bodyErr is a body that dropped midway through a refusal, whose
	// status already tells the outcome; it is only logged.
	bodyErr error
	// auth is the Authorization value sent, so that what shows the answer
	// can hide its token (see redactor.forHeader).
	auth string
}

// status is the answer's status, or 0 without one.
func (o outcome) status() int {
	if o.resp == nil {
		return 0
	}
	return o.resp.StatusCode
}

// action is what the transport does after an attempt.
type action int

const (
	// actReturn hands the answer to the caller: a 2xx, or a 3xx for
	// http.Client to follow.
	actReturn action = iota
	// actFail ends the call with the outcome's error: a refusal, or a
	// failure whose retries ran out.
	actFail
	// actUnknown ends the call with an *UnknownOutcomeError: the server may
	// have applied a request that is not safe to repeat.
	actUnknown
	// actRetry waits, then sends again, within the retry budget.
	actRetry
	// actRefresh asks the token source again after a 401, and retries once
	// if it hands out another token.
	actRefresh
)

// policyState is what the retry policy needs to know of the call so far.
type policyState struct {
	retriesLeft int
	refreshable bool // the token comes from a token source
	refreshed   bool // the one retry after a 401 was used
	sameHost    bool // the request goes to the base URL's host
}

// decision is the policy's verdict on one attempt, with a reason for the log.
type decision struct {
	action action
	reason string
}

// decide is the retry policy: what to do after an attempt, from its
// outcome, whether the call is idempotent (an upsert with an id) and what
// the call has used up. It is the only place that knows which failures are
// safe to repeat:
//
//   - Never sent (a failed connect): retried.
//   - 429 with part of the daily budget left, and 503: retried; they say the
//     request was not taken on.
//   - Sent, then no answer; or any other 5xx, which a gateway may send after
//     the API applied the request: retried when idempotent (500, 502 and
//     504, or no answer), else an unknown outcome.
//   - 401 with a token source: one retry with a new token.
//   - Anything else is the answer.
func decide(o outcome, idempotent bool, s policyState) decision {
	if o.err != nil {
		switch {
		case !o.sent:
			return retryIf(s, "connection failed before the request was sent")
		case idempotent:
			return retryIf(s, "no answer; the request is idempotent")
		}
		return decision{actUnknown, "no answer after the request was sent"}
	}
	switch status := o.status(); {
	case status < 400:
		return decision{actReturn, ""}
	case status == http.StatusUnauthorized && s.refreshable && !s.refreshed && s.sameHost:
		return decision{actRefresh, "401; the token source may have replaced the token"}
	case status == http.StatusTooManyRequests:
		if o.rl.DailyExhausted() {
			return decision{actFail, "daily budget used up"}
		}
		return retryIf(s, "429 rate limited")
	case status == http.StatusServiceUnavailable:
		return retryIf(s, "503; the request was not taken on")
	case status >= 500 && !idempotent:
		return decision{actUnknown, "5xx; the server may have applied the request"}
	case status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return retryIf(s, "5xx; the request is idempotent")
	}
	return decision{actFail, ""}
}

func retryIf(s policyState, reason string) decision {
	if s.retriesLeft > 0 {
		return decision{actRetry, reason}
	}
	return decision{actFail, reason + "; no retries left"}
}

// serverWait is the wait the answer asks for: Retry-After-Ms or Retry-After;
// else, after a 429, the rest of the day when the daily budget is spent, or
// the announced burst window. It reports false when the answer says nothing.
func serverWait(o outcome, now time.Time) (time.Duration, bool) {
	switch {
	case o.resp == nil:
		return 0, false
	case o.rl.RetryAfter >= 0:
		return o.rl.RetryAfter, true
	case o.status() != http.StatusTooManyRequests:
		return 0, false
	case o.rl.DailyExhausted():
		return untilMidnightUTC(now), true
	case o.rl.Interval > 0:
		return o.rl.Interval, true
	}
	return 0, false
}

// retryWait is how long to wait before retrying after attempt n: what the
// server asked for, else exponential backoff, capped at most.
func retryWait(o outcome, n int, most time.Duration, now time.Time) time.Duration {
	d, ok := serverWait(o, now)
	if !ok {
		d = backoff(n)
	}
	return min(d, most)
}

// backoff is the exponential wait before attempt n+1, with jitter over its
// upper half so that many clients do not retry in step.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 6 {
		d = min(backoffBase<<(n-1), backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// untilMidnightUTC estimates when a used-up daily budget returns.
func untilMidnightUTC(now time.Time) time.Duration {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Sub(now)
}
