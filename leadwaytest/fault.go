package leadwaytest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// Fault says how the fake fails a request, to test how a client copes with
// trouble. Fields combine: the Delay comes first; then the request is
// handled if Apply or Truncate asks for it; then the answer is replaced by a
// reset, a truncated body or Status, in that order of precedence. The zero
// Fault changes nothing.
type Fault struct {
	// Delay holds the request this long before anything else happens, as a
	// slow server would; with no other field set it is then answered
	// normally. A client that gives up, or Close, cuts the delay short.
	Delay time.Duration
	// Status, when non-zero, is answered instead of handling the request,
	// such as 500 or 503. The answer still carries the rate-limit headers.
	Status int
	// Body is the body of the Status answer. Default: the vendor's shape,
	// {"statusCode":Status,"message":"<status text>"}.
	Body []byte
	// Header adds headers to the Status answer, such as Retry-After.
	Header http.Header
	// Reset reads the request and then resets the connection without
	// answering, as a crashed server or a cut network would.
	Reset bool
	// Truncate handles the request, keeping its effect, and sends the
	// answer's headers (with the full Content-Length) but only the first
	// half of its body before closing the connection.
	Truncate bool
	// Apply handles the request, keeping its effect, before Reset or Status
	// replaces the answer: the write happened but the client cannot know.
	Apply bool
}

// pendingFault is a Fault still to be applied to count requests.
type pendingFault struct {
	fault Fault
	count int
}

// FailNext makes the next n requests fail as f says, after any faults
// queued before. Faults apply to requests in the order they arrive,
// whatever their path or location; the OAuth endpoints of [WithOAuth] have
// faults of their own ([Server.FailNextTokenRequests]).
func (s *Server) FailNext(n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, pendingFault{fault: f, count: n})
}

// nextFault takes the fault for the current request, if one is queued.
// The caller holds s.mu.
func (s *Server) nextFault() (Fault, bool) {
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	p := &s.faults[0]
	f := p.fault
	if p.count--; p.count == 0 {
		s.faults = s.faults[1:]
	}
	s.stats.Faults++
	return f, true
}

// serveFault answers r as f says; serve answers it normally.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault, serve func(http.ResponseWriter)) {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the client is gone
		case <-s.done:
			closeConn(w, true) // never let an empty 200 out
			return
		}
	}
	if !f.Reset && !f.Truncate && f.Status == 0 {
		serve(w)
		return
	}
	var answer *httptest.ResponseRecorder
	if f.Apply || f.Truncate {
		answer = httptest.NewRecorder()
		serve(answer)
	}
	switch {
	case f.Reset:
		closeConn(w, true)
	case f.Truncate:
		for k, v := range answer.Header() {
			w.Header()[k] = v
		}
		body := answer.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(answer.Code)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		closeConn(w, false)
	default:
		writeFaultStatus(w, f)
	}
}

func writeFaultStatus(w http.ResponseWriter, f Fault) {
	body := f.Body
	if body == nil {
		body, _ = json.Marshal(struct {
			StatusCode int    `json:"statusCode"`
			Message    string `json:"message"`
		}{f.Status, http.StatusText(f.Status)})
	}
	h := w.Header()
	if json.Valid(body) {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	for k, v := range f.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}

// closeConn drops the connection under w: with a reset (RST) when reset is
// true, else with an orderly close after what was written.
func closeConn(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
