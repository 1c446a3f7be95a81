package leadway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
)

// Backoff between attempts that the server gave no wait for.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 8 * time.Second
)

// drainLimit bounds how much of an oversized body is read and thrown away
// to keep its connection; past it the connection is closed instead.
const drainLimit = 64 << 10

// callInfo is what the transport needs to know about a call: the rate-limit
// key, whether repeating the request is safe, and, back from the transport,
// how many attempts were made.
type callInfo struct {
	key        string
	idempotent bool
	attempts   int
	rateLimit  RateLimit // of the last response
}

type callKey struct{}

// callCtx carries a callInfo; one allocation instead of context.WithValue's
// two.
type callCtx struct {
	context.Context
	call callInfo
}

func (c *callCtx) Value(key any) any {
	if key == (callKey{}) {
		return &c.call
	}
	return c.Context.Value(key)
}

func withCall(ctx context.Context, c callInfo) *callCtx {
	return &callCtx{Context: ctx, call: c}
}

// callFrom returns the call's info. A request that did not come through a
// Client method (a later operation) counts as idempotent only when its
// method is.
func callFrom(req *http.Request) *callInfo {
	if c, ok := req.Context().Value(callKey{}).(*callInfo); ok {
		return c
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return &callInfo{idempotent: true}
	}
	return &callInfo{}
}

// transport is the RoundTripper under the generated client. Per attempt it
// waits for the rate limiter, authorizes, bounds the time and the body, and
// decides from the outcome whether a retry is safe.
type transport struct {
	base      http.RoundTripper
	cfg       *config
	auth      *authorizer
	baseHost  string
	traceable bool // base is net/http's transport, which reports its progress
}

func newTransport(cfg *config, auth *authorizer) *transport {
	var base http.RoundTripper
	if cfg.httpClient != nil && cfg.httpClient.Transport != nil {
		base = cfg.httpClient.Transport
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Busy services run many calls at once against one host.
		t.MaxIdleConnsPerHost = 64
		base = t
	}
	_, traceable := base.(*http.Transport)
	return &transport{base: base, cfg: cfg, auth: auth, baseHost: cfg.baseURL.Host, traceable: traceable}
}

// outcome is what one attempt produced: a response with its body read, or
// an error, and whether the request may have reached the server.
type outcome struct {
	resp *http.Response
	err  error
	sent bool
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

func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	call := callFrom(req)
	// A RoundTripper must close the body, also when it fails early.
	handedOff := false
	defer func() {
		if !handedOff && req.Body != nil {
			req.Body.Close()
		}
	}()
	getBody, fresh, err := replayable(req)
	if err != nil {
		return nil, err
	}
	handedOff = fresh
	sameHost := strings.EqualFold(req.URL.Host, t.baseHost)
	retriesLeft := t.cfg.maxRetries
	refreshed := false
	var prev outcome // the attempt a retry follows
	for attempt := 1; ; attempt++ {
		// Giving up before an attempt: after the first, the error also
		// carries the attempt the retry would have followed.
		stop := func(err error) error {
			if attempt > 1 {
				return &waitError{err: err, last: lastError(prev, call, t.auth)}
			}
			return err
		}
		if t.cfg.limiter != nil {
			if err := t.cfg.limiter.Wait(ctx, call.key); err != nil {
				return nil, stop(fmt.Errorf("leadway: waiting for the rate limiter: %w", err))
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, stop(fmt.Errorf("leadway: %w", err))
		}
		call.attempts++
		start := time.Now()
		o, r, err := t.attempt(ctx, req, getBody, attempt > 1 || fresh, sameHost, !call.idempotent, &handedOff)
		if err != nil {
			return nil, err
		}
		prev = o
		var rl RateLimit
		if o.resp != nil {
			rl = parseRateLimit(o.resp.Header)
			call.rateLimit = rl
			if t.cfg.limiter != nil {
				t.cfg.limiter.Observe(call.key, rl)
			}
		}
		t.logAttempt(ctx, r, attempt, o, time.Since(start), rl)

		var wait time.Duration
		var reason string
		if o.err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, canceled(ctx, o, call)
			case !o.sent:
				reason = "connection failed before the request was sent"
			case call.idempotent:
				reason = "no answer; the request is idempotent"
			default:
				return nil, &UnknownOutcomeError{Err: o.err}
			}
			if retriesLeft == 0 {
				if attempt == 1 {
					return nil, fmt.Errorf("leadway: %w", o.err)
				}
				return nil, fmt.Errorf("leadway: %d attempts failed: %w", attempt, o.err)
			}
			wait = backoff(attempt)
		} else {
			status := o.resp.StatusCode
			switch {
			case status == http.StatusUnauthorized && t.auth.refreshable && !refreshed && sameHost:
				refreshed = true
				if tok, err := t.auth.token(); err == nil && "Bearer "+tok != r.Header.Get("Authorization") {
					t.logRetry(ctx, r, attempt, 0, "401 with a token the source has since replaced")
					continue // one extra attempt, outside the retry budget
				}
				return o.resp, nil
			case status == http.StatusTooManyRequests:
				if rl.DailyExhausted() {
					return o.resp, nil
				}
				wait, reason = rateLimitWait(o.resp.Header, rl, attempt), "429 rate limited"
			case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
				if d, ok := retryAfter(o.resp.Header, time.Now()); ok {
					wait = d
				} else {
					wait = backoff(attempt)
				}
				reason = o.resp.Status
			case status == http.StatusInternalServerError && call.idempotent:
				wait, reason = backoff(attempt), "500; the request is idempotent"
			default:
				return o.resp, nil
			}
			if retriesLeft == 0 {
				return o.resp, nil
			}
		}
		retriesLeft--
		wait = min(wait, t.cfg.maxRetryWait)
		t.logRetry(ctx, r, attempt, wait, reason)
		if err := sleep(ctx, wait); err != nil {
			return nil, &waitError{err: err, wait: wait, last: lastError(o, call, t.auth)}
		}
	}
}

// attempt sends one copy of req. The returned request is the one sent, for
// logging; an error means nothing was sent. handedOff is set once req's own
// body has gone to the base transport, which then closes it.
func (t *transport) attempt(ctx context.Context, req *http.Request, getBody func() (io.ReadCloser, error), replay, sameHost, traceSend bool, handedOff *bool) (outcome, *http.Request, error) {
	// A caller's deadline that comes first bounds the attempt already.
	if d := t.cfg.attemptTimeout; d > 0 {
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > d {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
	}
	// Only a call that is not idempotent needs to know whether a failed
	// attempt left the machine, and only net/http's transport reports it.
	var trace *sendTrace
	if traceSend && t.traceable {
		trace = &sendTrace{}
		trace.hooks.WroteHeaders = trace.wroteHeaders
		ctx = httptrace.WithClientTrace(ctx, &trace.hooks)
	}

	var r *http.Request
	if !replay && sameHost {
		r = req.WithContext(ctx)
	} else {
		r = req.Clone(ctx)
		if !sameHost {
			// A redirect to another host never carries the token.
			r.Header.Del("Authorization")
		} else if err := t.auth.edit(ctx, r); err != nil {
			return outcome{}, r, err
		}
	}
	if getBody != nil && replay {
		body, err := getBody()
		if err != nil {
			return outcome{}, r, fmt.Errorf("leadway: replaying the request body: %w", err)
		}
		r.Body = body
	}
	if r.URL.Scheme == "http" && !t.cfg.insecureHTTP && !isLoopback(r.URL.Hostname()) && r.Header.Get("Authorization") != "" {
		if replay && r.Body != nil {
			r.Body.Close()
		}
		return outcome{}, r, fmt.Errorf("leadway: refusing to send the token over plain http to %s", r.URL.Host)
	}

	*handedOff = true
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp == nil {
		err = errors.New("transport returned neither a response nor an error")
	}
	if err != nil {
		sent := maySent(err)
		if trace != nil && !trace.wrote.Load() {
			sent = false // not even the headers went out
		}
		return outcome{err: err, sent: sent}, r, nil
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	body, err := readBody(resp, t.cfg.maxResponseBytes)
	if err != nil {
		// The answer had started, so the server got the request.
		return outcome{err: fmt.Errorf("reading the %s response: %w", resp.Status, err), sent: true}, r, nil
	}
	resp.Body = body
	return outcome{resp: resp, sent: true}, r, nil
}

// sendTrace records whether net/http wrote the request's headers: until it
// has, the server cannot act on the request.
type sendTrace struct {
	hooks httptrace.ClientTrace
	wrote atomic.Bool
}

func (s *sendTrace) wroteHeaders() { s.wrote.Store(true) }

// maySent reports whether a failed round trip may have delivered the
// request, judged by the error alone: only a failure to connect proves it
// did not. Anything else counts as possibly delivered, which at worst
// reports an unknown outcome for a request that never left. With net/http's
// transport the attempt also traces whether the headers were written.
func maySent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return false
	}
	var dns *net.DNSError
	return !errors.As(err, &dns)
}

// replayable returns a function that yields a fresh copy of req's body for
// each attempt, so that every retry sends the same bytes. fresh reports that
// req.Body itself was used up, so even the first attempt needs a copy.
func replayable(req *http.Request) (getBody func() (io.ReadCloser, error), fresh bool, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, false, nil
	}
	if req.GetBody != nil {
		return req.GetBody, false, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, false, fmt.Errorf("leadway: reading the request body: %w", err)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, true, nil
}

// readBody reads at most limit bytes of the body and closes it. A body past
// the limit is cut and marked; a short excess is drained so that the
// connection can be reused.
func readBody(resp *http.Response, limit int64) (*bufferedBody, error) {
	defer resp.Body.Close()
	var data []byte
	truncated := false
	if cl := resp.ContentLength; cl >= 0 && cl <= limit {
		data = make([]byte, cl)
		if _, err := io.ReadFull(resp.Body, data); err != nil {
			return nil, err
		}
		// Reach EOF, which lets the transport reuse the connection.
		var probe [1]byte
		_, _ = resp.Body.Read(probe[:])
	} else {
		var err error
		if data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1)); err != nil {
			return nil, err
		}
		if truncated = int64(len(data)) > limit; truncated {
			data = data[:limit]
			// Keep the connection if the rest is short; else close it.
			_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		}
	}
	b := &bufferedBody{data: data, truncated: truncated}
	b.Reset(data)
	return b, nil
}

// rateLimitWait is how long to wait after a 429 that left part of the daily
// budget: Retry-After(-Ms) when given, else the announced burst window.
func rateLimitWait(h http.Header, rl RateLimit, attempt int) time.Duration {
	if d, ok := retryAfter(h, time.Now()); ok {
		return d
	}
	if rl.Interval > 0 {
		return rl.Interval
	}
	return backoff(attempt)
}

// backoff is the exponential wait before attempt+1, with jitter over its
// upper half so that many clients do not retry in step.
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 6 {
		d = min(backoffBase<<(attempt-1), backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done. It gives up at once when ctx's
// deadline falls before the wait ends, since the retry could not happen.
func sleep(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return context.DeadlineExceeded
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// canceled is the error for an attempt the caller's context ended. It is an
// unknown outcome when the request had been written and is not idempotent.
func canceled(ctx context.Context, o outcome, call *callInfo) error {
	err := o.err
	if !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	if o.sent && !call.idempotent {
		return &UnknownOutcomeError{Err: err}
	}
	return fmt.Errorf("leadway: %w", err)
}

// lastError describes the attempt a cancelled wait followed.
func lastError(o outcome, call *callInfo, auth *authorizer) error {
	if o.err != nil {
		return o.err
	}
	body, _ := bodyBytes(o.resp, 0)
	apiErr := newAPIError(o.resp.StatusCode, o.resp.Header, body, call.attempts, auth)
	if o.resp.StatusCode == http.StatusTooManyRequests {
		return newRateLimitError(apiErr, o.resp.Header)
	}
	return apiErr
}

func newRateLimitError(apiErr *APIError, h http.Header) *RateLimitError {
	e := &RateLimitError{APIError: apiErr, Daily: apiErr.RateLimit.DailyExhausted()}
	now := time.Now()
	switch d, ok := retryAfter(h, now); {
	case ok:
		e.RetryAfter = d
	case e.Daily:
		e.RetryAfter = untilMidnightUTC(now)
	case apiErr.RateLimit.Interval > 0:
		e.RetryAfter = apiErr.RateLimit.Interval
	}
	return e
}

// waitError reports a context that ended while the client waited to retry.
// It matches both the context's error and the last attempt's error.
type waitError struct {
	err  error
	wait time.Duration
	last error
}

func (e *waitError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "leadway: ")
	if e.wait > 0 {
		msg += fmt.Sprintf(" before the retry due in %s", e.wait)
	}
	return "leadway: " + msg + "; last attempt: " + strings.TrimPrefix(e.last.Error(), "leadway: ")
}

func (e *waitError) Unwrap() []error { return []error{e.err, e.last} }

// CloseIdleConnections passes the call on to the underlying transport.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
