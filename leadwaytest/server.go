package leadwaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeapi"
)

// maxBodyBytes caps a request body, so a runaway client cannot exhaust the
// memory of the test that runs the fake.
const maxBodyBytes = 1 << 20

// Server is a fake Leadway CRM API, listening on loopback by default. Start
// one with [NewServer] or [Start], point a client at URL with Token, and
// Close it when done. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:50123, to pass to
	// leadway.WithBaseURL.
	URL string
	// Token is the one bearer token the fake accepts.
	Token string

	cfg       config
	http      *httptest.Server
	api       http.Handler // validation, then the generated server
	oauth     *oauthServer // the OAuth endpoints, with WithOAuth
	done      chan struct{}
	closeOnce sync.Once
	hooks     *sender // nil without WithWebhook

	mu       sync.Mutex
	store    store
	budget   budget
	faults   []pendingFault
	recorded recording
	stats    Stats
}

// NewServer starts a fake and returns it, like httptest.NewServer. It panics
// when an option is invalid or the address cannot be listened on; use
// [Start] to get an error instead.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a fake and returns it, or the first option's error or the
// listening error.
func Start(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.token == "" {
		cfg.token = randomToken()
	}
	s := &Server{
		Token:  cfg.token,
		cfg:    cfg,
		done:   make(chan struct{}),
		store:  newStore(),
		budget: newBudget(cfg.rateMax, cfg.interval, cfg.daily, cfg.window),
	}
	api, err := s.newAPIHandler()
	if err != nil {
		return nil, err
	}
	s.api = api
	if cfg.oauth.clientID != "" {
		if s.oauth, err = newOAuthServer(cfg.oauth, cfg.now); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("leadwaytest: %w", err)
	}
	s.http = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.serveHTTP)}}
	s.http.Start()
	s.URL = loopbackURL(ln.Addr())
	if cfg.webhook.url != "" {
		s.hooks = newSender(cfg.webhook, http.DefaultTransport.(*http.Transport).Clone(), cfg.logger)
	}
	return s, nil
}

// loopbackURL is the URL a local client dials: a listener on every address
// (":8080") is reached through 127.0.0.1, which leadway accepts over http.
func loopbackURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return "http://" + addr.String()
	}
	return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
}

// Close stops the fake: delays in progress end at once, then it waits for
// the requests in flight. Calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.http.Close()
		if s.hooks != nil {
			s.hooks.close()
		}
	})
}

// Client returns a leadway client pointed at the fake with its token, and
// with the client's own rate limiter off, so that tests are not paced: the
// fake still enforces its budget and answers 429. opts come after these,
// so they can override them; pass leadway.WithRateLimiter to test pacing.
func (s *Server) Client(opts ...leadway.Option) (*leadway.Client, error) {
	return leadway.New(s.Token, append([]leadway.Option{leadway.WithBaseURL(s.URL), leadway.WithoutRateLimiter()}, opts...)...)
}

// quotaKey carries a request's rate figures to the handler of the generated
// server, whose 200 answer sets them as headers.
type quotaKey struct{}

// serveHTTP handles one request: it records it, charges it to its location's
// budget, applies a queued fault, and otherwise hands it to the validating
// API handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.oauth != nil && isOAuthPath(r.URL.Path) {
		s.serveOAuth(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(body))
	location := locationOf(body)
	if s.oauth != nil {
		r = r.WithContext(context.WithValue(r.Context(), locationKey{}, location))
	}

	s.mu.Lock()
	s.recorded.add(Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.stats.Requests++
	q, allowed := s.budget.take(location, s.cfg.now())
	fault, faulted := s.nextFault()
	s.mu.Unlock()

	q.setHeaders(sw.Header())
	if faulted {
		s.serveFault(sw, r, fault, func(w http.ResponseWriter) { s.serve(w, r, err, q, allowed) })
	} else {
		s.serve(sw, r, err, q, allowed)
		s.count(sw.status)
	}
	if l := s.cfg.logger; l != nil {
		l.LogAttrs(r.Context(), slog.LevelInfo, "leadwaytest: request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("location", location),
			slog.Int("status", sw.status),
			slog.Bool("fault", faulted))
	}
}

// serve answers a request as the API would.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, readErr error, q quota, allowed bool) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(readErr, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "Request entity too large", "")
	case readErr != nil:
		writeError(w, http.StatusBadRequest, "Request body could not be read", "")
	case !allowed:
		h := q.headers()
		_ = fakeapi.UpsertOpportunity429JSONResponse{Body: tooManyRequests(), Headers: fakeapi.UpsertOpportunity429ResponseHeaders(h)}.VisitUpsertOpportunityResponse(w)
	default:
		s.api.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), quotaKey{}, q)))
	}
}

// count tallies an answer no fault shaped in the stats.
func (s *Server) count(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case status == http.StatusTooManyRequests:
		s.stats.RateLimited++
	case status >= 400 && status < 500:
		s.stats.Rejected++
	}
}

// locationOf reads the locationId of a body, leniently: a body the contract
// refuses still counts against the location it names.
func locationOf(body []byte) string {
	var v struct {
		LocationID any `json:"locationId"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	id, _ := v.LocationID.(string)
	return id
}

// writeError writes the vendor's error shape for answers the contract does
// not describe (404, 413).
func writeError(w http.ResponseWriter, status int, message, errorName string) {
	body := struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
		Error      string `json:"error,omitempty"`
	}{status, message, errorName}
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// statusWriter remembers the status written, for the stats and the log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, for faults.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
