package leadway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
)

// sender makes one attempt of a call: it builds the request to send,
// authorizes it, sends it over the base RoundTripper and reads the answer
// under the body limit. The transport above decides what comes next.
type sender struct {
	base      http.RoundTripper
	owned     bool // base was created here, so its idle connections are ours to close
	traceable bool // base is net/http's transport, whose progress can be traced
	creds     *credentials
	// attemptTimeout bounds one attempt; 0: only the context does.
	attemptTimeout   time.Duration
	maxResponseBytes int64
	insecureHTTP     bool // the token may go over plain http to any host
}

// newSender returns a sender over base, or over a tuned clone of net/http's
// default transport when base is nil.
func newSender(base http.RoundTripper, creds *credentials) *sender {
	s := &sender{base: base, creds: creds}
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			c := dt.Clone()
			// Busy services run many calls at once against one host.
			c.MaxIdleConnsPerHost = 64
			s.base, s.owned = c, true
		} else {
			// Replaced by a test double or a tracing wrapper: use it as it is.
			s.base = http.DefaultTransport
		}
	}
	_, s.traceable = s.base.(*http.Transport)
	return s
}

// closeIdle closes the idle connections of a base the sender created.
func (t *sender) closeIdle() {
	if !t.owned {
		return
	}
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// send makes one attempt. It returns the outcome and the request it sent;
// an error means nothing was sent.
func (t *sender) send(ctx context.Context, cs *callState, a attempt) (outcome, *http.Request, error) {
	// A caller's deadline that comes first bounds the attempt already.
	if d := t.attemptTimeout; d > 0 {
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > d {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
	}
	// Only a call that is not idempotent needs to know whether a failed
	// attempt left the machine, and only net/http's transport reports it.
	var trace *sendTrace
	if !cs.info.idempotent && t.traceable {
		trace = &sendTrace{}
		trace.hooks.GetConn = trace.getConnHook
		trace.hooks.WroteHeaders = trace.wroteHeaders
		ctx = httptrace.WithClientTrace(ctx, &trace.hooks)
	}

	r, err := t.prepare(ctx, cs, a)
	if err != nil {
		return outcome{}, r, err
	}
	if r.URL.Scheme == "http" && !t.insecureHTTP && !isLoopback(r.URL.Hostname()) && r.Header.Get("Authorization") != "" {
		if r.Body != nil && cs.replay(a) {
			r.Body.Close()
		}
		return outcome{}, r, fmt.Errorf("leadway: refusing to send the token over plain http to %s", r.URL.Host)
	}

	cs.handedOff = true
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp == nil {
		err = errors.New("transport returned neither a response nor an error")
	}
	if err != nil {
		sent := maySent(err)
		if trace != nil && trace.tracked() && !trace.wrote.Load() {
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
	o := outcome{resp: resp, rl: parseRateLimit(resp.Header), sent: true}
	body, err := readBody(resp.Body, resp.ContentLength, t.maxResponseBytes)
	resp.Body.Close()
	resp.Body = body
	if err != nil {
		if notTakenOn(resp.StatusCode) {
			// The status already says the request was not applied.
			o.bodyErr = err
			return o, r, nil
		}
		// The answer had started, so the server got the request.
		return outcome{err: fmt.Errorf("reading the %s response: %w", resp.Status, err), sent: true}, r, nil
	}
	return o, r, nil
}

// notTakenOn reports whether a status says the server did not apply the
// request: a 4xx, or 503.
func notTakenOn(status int) bool {
	return (status >= 400 && status < 500) || status == http.StatusServiceUnavailable
}

// prepare builds the request of one attempt: a shallow copy of the call's
// request with its own header map, the Authorization value (never for
// another host), and a copy of the body when the attempt replays it.
func (t *sender) prepare(ctx context.Context, cs *callState, a attempt) (*http.Request, error) {
	req := cs.req
	r := req.WithContext(ctx)
	h := make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		h[k] = v
	}
	delete(h, "Authorization")
	r.Header = h
	if cs.sameHost {
		switch {
		case a.auth != "":
			h["Authorization"] = []string{a.auth}
		case t.creds.static != nil:
			h["Authorization"] = t.creds.static
		default:
			v, err := t.creds.headerValues(ctx)
			if err != nil {
				return r, err
			}
			h["Authorization"] = v
		}
	}
	if cs.getBody != nil && cs.replay(a) {
		body, err := cs.getBody()
		if err != nil {
			return r, fmt.Errorf("leadway: replaying the request body: %w", err)
		}
		r.Body = body
	}
	if !cs.info.idempotent {
		// Only the client decides what is sent again: without GetBody,
		// net/http cannot replay the request by itself (an HTTP/2 stream
		// reset, or a dropped connection with an Idempotency-Key header).
		r.GetBody = nil
	}
	return r, nil
}

// sendTrace records whether net/http wrote the request's headers: until it
// has, the server cannot act on the request.
type sendTrace struct {
	hooks   httptrace.ClientTrace
	getConn atomic.Bool
	wrote   atomic.Bool
}

func (s *sendTrace) getConnHook(string) { s.getConn.Store(true) }
func (s *sendTrace) wroteHeaders()      { s.wrote.Store(true) }

// tracked reports whether net/http's own connection code ran, and so would
// have reported written headers. A protocol registered with
// RegisterProtocol, such as HTTP/3, bypasses it and reports nothing.
func (s *sendTrace) tracked() bool { return s.getConn.Load() }

// isLoopback reports whether host is this machine, where the token may go
// over plain http.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maySent reports whether a failed round trip may have delivered the
// request, judged by the error alone: only a failure to connect proves it
// did not. Anything else counts as possibly delivered, which at worst
// reports an unknown outcome for a request that never left.
func maySent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return false
	}
	var dns *net.DNSError
	return !errors.As(err, &dns)
}
