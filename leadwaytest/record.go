package leadwaytest

import (
	"bytes"
	"net/http"
)

// maxRecorded bounds the request log, so that long benchmarks do not grow
// without limit.
const maxRecorded = 10_000

// Request is a request the fake received, as it came over the wire.
type Request struct {
	// Method is the HTTP method, such as POST.
	Method string
	// Path is the URL path, such as /opportunities/upsert.
	Path string
	// Header holds the request's headers, Authorization included.
	Header http.Header
	// Body is the request body (cut at 1 MiB).
	Body []byte
}

// recording keeps the most recent requests in a ring. The Server's mutex
// guards it.
type recording struct {
	reqs []Request
	next int // where the next request goes once the ring is full
}

func (rec *recording) add(r Request) {
	if len(rec.reqs) < maxRecorded {
		rec.reqs = append(rec.reqs, r)
		return
	}
	rec.reqs[rec.next] = r
	rec.next = (rec.next + 1) % maxRecorded
}

// list returns copies, oldest first, so callers may change them freely.
func (rec *recording) list() []Request {
	out := make([]Request, 0, len(rec.reqs))
	for i := range rec.reqs {
		r := rec.reqs[(rec.next+i)%len(rec.reqs)]
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out = append(out, r)
	}
	return out
}

// Requests returns the requests received, oldest first, whatever their
// outcome: refused, rate limited or faulted ones too. Only the most recent
// 10,000 are kept.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorded.list()
}

// Stats counts what the fake did, for assertions and for benchmark metrics.
type Stats struct {
	// Requests is how many requests arrived.
	Requests int
	// Created and Updated count successful upserts by outcome.
	Created, Updated int
	// RateLimited is how many 429 answers the rate budgets caused.
	RateLimited int
	// Rejected is how many requests were refused with 400, 401, 404, 413
	// or 422.
	Rejected int
	// Faults is how many requests a [Fault] was applied to. Their answers
	// count in none of the above, though an applied upsert counts in
	// Created or Updated.
	Faults int
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
