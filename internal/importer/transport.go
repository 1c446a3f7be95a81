package importer

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Transport is the HTTP transport of an import's client. It sees each
// attempt once the client's limiter has let it go, so it records a row as
// started (durably) only when its request is about to go on the wire, and it
// counts 429 answers. Build the client with
// leadway.WithHTTPClient(&http.Client{Transport: t}).
type Transport struct {
	Base http.RoundTripper
	n429 atomic.Int64
}

// rowKey carries a call's *rowMark in its context.
type rowKey struct{}

// rowMark records a row's start once, on the first attempt.
type rowMark struct {
	once    sync.Once
	err     error
	started func() error
}

// RoundTrip records the row of req as started, sends req through Base and
// counts a 429 answer.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if m, ok := req.Context().Value(rowKey{}).(*rowMark); ok {
		m.once.Do(func() { m.err = m.started() })
		if m.err != nil {
			return nil, m.err
		}
	}
	resp, err := t.Base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.n429.Add(1)
	}
	return resp, err
}

// RateLimited returns how many 429 answers came back.
func (t *Transport) RateLimited() int64 { return t.n429.Load() }

// BaseTransport is a copy of http.DefaultTransport for the import's own
// connection pool, sized for inFlight calls at once, or DefaultTransport
// itself when something replaced it with another kind of RoundTripper.
func BaseTransport(inFlight int) http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		c := t.Clone()
		// Every call goes to one host: keep a connection for each call in
		// flight, or each call beyond two opens and closes its own.
		c.MaxIdleConnsPerHost = inFlight
		c.MaxIdleConns = max(c.MaxIdleConns, inFlight)
		return c
	}
	return http.DefaultTransport
}
