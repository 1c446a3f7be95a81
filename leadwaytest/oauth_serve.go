package leadwaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeoauth"
	nethttpmiddleware "github.com/oapi-codegen/nethttp-middleware"
)

// The OAuth endpoints, served when WithOAuth is on.
const (
	pathChoose        = "/oauth/chooselocation"
	pathToken         = "/oauth/token"
	pathLocationToken = "/oauth/locationToken"
)

func isOAuthPath(p string) bool {
	return p == pathChoose || p == pathToken || p == pathLocationToken
}

// newOAuthServer builds the OAuth server: api/oauth.yaml's validator in
// front of the handlers.
func newOAuthServer(cfg oauthConfig, now func() time.Time) (*oauthServer, error) {
	o := &oauthServer{cfg: cfg, now: now, codes: map[string]*fakeCode{},
		access: map[string]*fakeAccess{}, refresh: map[string]*fakeRefresh{}}
	spec, err := fakeoauth.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("leadwaytest: loading the embedded OAuth contract: %w", err)
	}
	// The spec names the vendor's hosts; the fake serves every path itself.
	for _, item := range spec.Paths.Map() {
		item.Servers = nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathChoose, o.chooseLocation)
	mux.HandleFunc("POST "+pathToken, o.token)
	mux.HandleFunc("POST "+pathLocationToken, o.locationToken)
	validate := nethttpmiddleware.OapiRequestValidatorWithOptions(spec, &nethttpmiddleware.Options{
		DoNotValidateServers:  true,
		SilenceServersWarning: true,
		Options: openapi3filter.Options{
			AuthenticationFunc: o.authenticateCompany,
		},
		ErrorHandlerWithOpts: refuseOAuth,
	})
	o.api = validate(mux)
	return o, nil
}

// serveOAuth handles a request to an OAuth endpoint: it records it, applies
// a token-request fault, and otherwise hands it to the validating handlers.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.recorded.add(Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.stats.Requests++
	s.mu.Unlock()
	serve := func(w http.ResponseWriter) {
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "the request body could not be read")
			return
		}
		s.oauth.api.ServeHTTP(w, r)
	}
	fault, faulted := s.oauth.nextFault(r)
	if faulted {
		s.serveFault(sw, r, fault, serve)
	} else {
		serve(sw)
	}
	if l := s.cfg.logger; l != nil {
		l.LogAttrs(r.Context(), slog.LevelInfo, "leadwaytest: request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Bool("fault", faulted))
	}
}

// FailNextTokenRequests makes the next n requests to POST /oauth/token and
// POST /oauth/locationToken fail as f says, after any queued before. Other
// requests pass them by, and [Server.FailNext] leaves these alone. A Delay
// holds the request before it is handled: a client that gives up or dies
// meanwhile spends nothing.
func (s *Server) FailNextTokenRequests(n int, f Fault) {
	if s.oauth == nil || n <= 0 {
		return
	}
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.faults = append(s.oauth.faults, pendingFault{fault: f, count: n})
}

// FailTokenRequestsFor makes every request to POST /oauth/token and
// POST /oauth/locationToken that arrives in the next d fail as f says, as
// an outage of the token endpoint would; queued faults of
// [Server.FailNextTokenRequests] come first.
func (s *Server) FailTokenRequestsFor(d time.Duration, f Fault) {
	if s.oauth == nil {
		return
	}
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.failFor, s.oauth.failTill = f, s.oauth.now().Add(d)
}

// nextFault takes the fault for a token request, if one applies.
func (o *oauthServer) nextFault(r *http.Request) (Fault, bool) {
	if r.Method != http.MethodPost || r.URL.Path == pathChoose {
		return Fault{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.faults) > 0 {
		p := &o.faults[0]
		f := p.fault
		if p.count--; p.count == 0 {
			o.faults = o.faults[1:]
		}
		return f, true
	}
	if o.now().Before(o.failTill) {
		return o.failFor, true
	}
	return Fault{}, false
}

// authenticateCompany checks the bearer token of POST /oauth/locationToken:
// a live Company token with the oauth.write scope.
func (o *oauthServer) authenticateCompany(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	_, token, ok := cutBearer(in.RequestValidationInput.Request.Header.Get("Authorization"))
	if !ok {
		return tokenRefusal("Missing Bearer token")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.live(token)
	switch {
	case a == nil:
		return tokenRefusal("Invalid token")
	case a.location != "" || a.install.in.UserType != "Company":
		return tokenRefusal("This route needs a Company access token")
	case !hasScope(a.install.scope, "oauth.write"):
		return tokenRefusal("The token is not authorized for this scope.")
	}
	return nil
}

// refuseOAuth answers a request the validator turned down: the OAuth error
// shape on the token endpoint and the authorization page, the API's shape
// on /oauth/locationToken, 404 outside the contract.
func refuseOAuth(_ context.Context, err error, w http.ResponseWriter, r *http.Request, opts nethttpmiddleware.ErrorHandlerOpts) {
	if opts.MatchedRoute == nil {
		writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path, "Not Found")
		return
	}
	var sec *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sec) {
		msg := "Invalid token"
		for _, e := range sec.Errors {
			var refusal tokenRefusal
			if errors.As(e, &refusal) {
				msg = string(refusal)
			}
		}
		writeError(w, http.StatusUnauthorized, msg, "Unauthorized")
		return
	}
	msg := validationMessage(err)
	if r.URL.Path == pathLocationToken {
		writeError(w, http.StatusBadRequest, msg, "Bad Request")
		return
	}
	oauthError(w, http.StatusBadRequest, "invalid_request", msg)
}

// validationMessage words what the validator found: the field and why.
func validationMessage(err error) string {
	var req *openapi3filter.RequestError
	if !errors.As(err, &req) {
		return "malformed request"
	}
	if req.Parameter != nil {
		if errors.Is(req.Err, openapi3filter.ErrInvalidRequired) {
			return req.Parameter.Name + " is required"
		}
		return req.Parameter.Name + " is invalid"
	}
	var se *openapi3.SchemaError
	if errors.As(req.Err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		if se.SchemaField == "required" {
			return field + " is required"
		}
		if se.SchemaField == "enum" {
			return field + " must be one of " + joinValues(se.Schema.Enum, ", ")
		}
		return field + " is invalid: " + se.Reason
	}
	if errors.Is(req.Err, openapi3filter.ErrInvalidRequired) {
		return "the form body is required"
	}
	return "the body must be a form (application/x-www-form-urlencoded)"
}

// oauthError writes an OAuth error answer (RFC 6749, section 5.2).
func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, fakeoauth.OAuthError{Error: code, ErrorDescription: &description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
