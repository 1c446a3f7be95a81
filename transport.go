package leadway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// transport is the RoundTripper under the generated client. For each
// attempt it waits for the rate limiter, has the sender authorize, send and
// read the answer, and logs it; then the retry policy ([decide]) says
// whether to answer, fail or try again. It is built with all it needs
// (its settings, the sender, the log, credentials, redactor) and never
// reads the client's options or calls back into the client.
type transport struct {
	cfg    transportConfig
	sender *sender
	log    attemptLog
	creds  *credentials
	redact *redactor
}

// transportConfig is what the attempts of a call need to know of the
// client's options, handed down when the client is built.
type transportConfig struct {
	baseHost     string // only its answers feed the limiter, only it gets the token
	maxRetries   int
	maxRetryWait time.Duration
	limiter      Limiter // nil: none
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if err != nil {
		return nil, &transportError{err}
	}
	return resp, nil
}

// transportError marks the transport's own errors, whose messages need no
// request line from the *url.Error that http.Client wraps them in.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// roundTrip runs the attempts of one request until the policy ends the call.
// A redirect is a new request, with attempts of its own.
func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	cs := &callState{req: req, info: callFrom(req), sameHost: strings.EqualFold(req.URL.Host, t.cfg.baseHost)}
	// A RoundTripper must close the body, also when it fails early.
	defer func() {
		if !cs.handedOff && req.Body != nil {
			req.Body.Close()
		}
	}()
	var err error
	if cs.getBody, cs.fresh, err = replayable(req); err != nil {
		return nil, err
	}
	cs.handedOff = cs.fresh
	cs.policy = policyState{retriesLeft: t.cfg.maxRetries, refreshable: t.creds.refreshable, sameHost: cs.sameHost}
	a := attempt{n: 1}
	for {
		if err := t.waitTurn(ctx, cs, a); err != nil {
			return nil, err
		}
		start := time.Now()
		o, sent, err := t.sender.send(ctx, cs, a)
		if err != nil {
			return nil, t.stopBefore(cs, a, err)
		}
		o.auth = sent.Header.Get("Authorization")
		if o.resp != nil && cs.sameHost && t.cfg.limiter != nil {
			// Figures from a host a redirect led to are not the API's.
			t.cfg.limiter.Observe(cs.info.key, o.rl)
		}
		t.log.attempt(ctx, sent, cs, a, o, time.Since(start))
		if o.err != nil && ctx.Err() != nil {
			return nil, canceled(ctx, o, cs.info)
		}
		d := decide(o, cs.info.idempotent, cs.policy)
		switch d.action {
		case actReturn:
			return o.resp, nil
		case actFail:
			return nil, t.failure(o, a.n)
		case actUnknown:
			return nil, &UnknownOutcomeError{Err: t.failure(o, a.n)}
		case actRefresh:
			cs.policy.refreshed = true
			t.creds.refused(ctx, sent.Header.Get("Authorization"))
			h, err := t.creds.header(ctx)
			if err != nil || h == sent.Header.Get("Authorization") {
				return nil, t.failure(o, a.n)
			}
			t.log.retry(ctx, sent, a, 0, d.reason)
			cs.last = o
			a = attempt{n: a.n + 1, auth: h} // outside the retry budget
		case actRetry:
			cs.policy.retriesLeft--
			wait := retryWait(o, a.n, t.cfg.maxRetryWait, time.Now())
			t.log.retry(ctx, sent, a, wait, d.reason)
			if err := sleep(ctx, wait); err != nil {
				return nil, &waitError{err: err, wait: wait, last: t.failure(o, a.n)}
			}
			cs.last = o
			a = attempt{n: a.n + 1}
		}
	}
}

// waitTurn waits for the rate limiter and checks the context before an
// attempt. Before a retry the limiter may hold the call no longer than
// WithMaxRetryWait; if it would, the call ends with a *RateLimitError that
// says how long.
func (t *transport) waitTurn(ctx context.Context, cs *callState, a attempt) error {
	if lim := t.cfg.limiter; lim != nil {
		// Before a retry the cap bounds the wait, unless the caller's
		// deadline comes first.
		wctx, capped := ctx, false
		if a.n > 1 {
			until := time.Now().Add(t.cfg.maxRetryWait)
			if deadline, ok := ctx.Deadline(); !ok || deadline.After(until) {
				var cancel context.CancelFunc
				wctx, cancel = context.WithDeadline(ctx, until)
				defer cancel()
				capped = true
			}
		}
		if err := lim.Wait(wctx, cs.info.key); err != nil {
			var rle *RateLimitError
			isRLE := errors.As(err, &rle)
			switch {
			case a.n == 1 && isRLE:
				return err // nothing was sent; the error says so
			case capped && ctx.Err() == nil && (isRLE || errors.Is(err, context.DeadlineExceeded)):
				return t.heldByLimiter(cs, a, rle)
			case isRLE:
				// The caller's deadline comes first. Its "nothing was sent"
				// would be wrong after an attempt, so only its wait is kept.
				err = fmt.Errorf("the next slot, in %s, is past the context deadline: %w", rle.RetryAfter, context.DeadlineExceeded)
			}
			return t.stopBefore(cs, a, fmt.Errorf("leadway: waiting for the rate limiter: %w", err))
		}
	}
	if err := ctx.Err(); err != nil {
		return t.stopBefore(cs, a, fmt.Errorf("leadway: %w", err))
	}
	return nil
}

// heldByLimiter is the error for a retry the limiter would hold past the
// retry wait cap. It carries the last answer, if there was one.
func (t *transport) heldByLimiter(cs *callState, a attempt, from *RateLimitError) error {
	e := &RateLimitError{RetryAfter: t.cfg.maxRetryWait, Attempts: a.n - 1, RateLimit: cs.last.rl, held: true}
	if from != nil {
		e.Daily = from.Daily
		if from.RetryAfter > 0 {
			e.RetryAfter = from.RetryAfter
		}
	}
	var apiErr *APIError
	if errors.As(t.failure(cs.last, a.n-1), &apiErr) {
		e.APIError = apiErr
	}
	return e
}

// stopBefore is the error for giving up before attempt a: after the first,
// it also carries the attempt a retry would have followed.
func (t *transport) stopBefore(cs *callState, a attempt, err error) error {
	if a.n == 1 {
		return err
	}
	return &waitError{err: err, last: t.failure(cs.last, a.n-1)}
}

// failure is the error that ends a call after attempt n: the failure to
// get an answer, or the typed error for the answer.
func (t *transport) failure(o outcome, n int) error {
	if o.err != nil {
		if n == 1 {
			return fmt.Errorf("leadway: %w", o.err)
		}
		return fmt.Errorf("leadway: %d attempts failed: %w", n, o.err)
	}
	var body []byte
	if b := bodyOf(o.resp); b != nil {
		body = b.data
	}
	return statusError(o, body, n, t.redact.forHeader(o.auth), time.Now())
}

// canceled is the error for an attempt the caller's context ended. It is an
// unknown outcome when the request had been written and is not idempotent.
func canceled(ctx context.Context, o outcome, call callInfo) error {
	err := o.err
	if !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	if o.sent && !call.idempotent {
		return &UnknownOutcomeError{Err: err}
	}
	return fmt.Errorf("leadway: %w", err)
}

// CloseIdleConnections closes the idle connections of the transport the
// client created. A transport passed with WithHTTPClient may be shared, so
// it is left to its owner.
func (t *transport) CloseIdleConnections() { t.sender.closeIdle() }
