package leadway

import (
	"context"
	"io"
	"net/http"
)

// callInfo is what the transport needs to know about a call that the
// request alone does not say: its rate-limit key, and whether repeating it
// is safe. The client sets it; the transport only reads it.
type callInfo struct {
	key        string
	idempotent bool
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

func withCall(ctx context.Context, c callInfo) context.Context {
	return &callCtx{Context: ctx, call: c}
}

// callFrom returns the call's info. A request that did not come through a
// Client method counts as idempotent only when its method is.
func callFrom(req *http.Request) callInfo {
	if c, ok := req.Context().Value(callKey{}).(*callInfo); ok {
		return *c
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return callInfo{idempotent: true}
	}
	return callInfo{}
}

// callState is one RoundTrip of the transport: the request, how to replay
// its body, and what the retry policy has used up so far.
type callState struct {
	req  *http.Request
	info callInfo
	// getBody yields a fresh copy of the body for each attempt.
	getBody func() (io.ReadCloser, error)
	// fresh reports that req.Body was read to buffer it, so every attempt
	// sends a copy.
	fresh bool
	// handedOff is set once req.Body went to the base transport, which
	// then closes it.
	handedOff bool
	sameHost  bool
	policy    policyState
	// last is the outcome of the attempt before the next one.
	last outcome
}

// attempt is what differs between the attempts of one call.
type attempt struct {
	n int // 1 for the first
	// auth is the Authorization value to send; "" asks the credentials.
	auth string
}

// replay reports whether the attempt needs a copy of the body.
func (cs *callState) replay(a attempt) bool { return a.n > 1 || cs.fresh }
