// Package leadway is a client for the Leadway CRM API, a white-label of
// HighLevel's LeadConnector API. It upserts sales opportunities:
//
//	client, err := leadway.New(os.Getenv("LEADWAY_TOKEN"))
//	res, err := client.Upsert(ctx, leadway.UpsertRequest{
//		PipelineId: "bCkKGpDsyPP4peuKowkG",
//		LocationId: "CLu7BaljjqrEjBGKTNNe",
//		Name:       leadway.Ptr("Website redesign"),
//	})
//
// Every request carries the Authorization and Version headers. Calls stay
// under each location's rate budget, are retried when that is safe, and fail
// with typed errors: [*ValidationError], [*APIError], [*RateLimitError],
// [*UnknownOutcomeError] and [*ResponseError].
//
// Types and the low-level client are generated from api/openapi.yaml into
// package gen; this package re-exports the types a caller needs.
package leadway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/leadwaycrm/leadway/gen"
	"golang.org/x/oauth2"
)

// UpsertResult is the outcome of [Client.Upsert].
type UpsertResult struct {
	// New reports whether the call created the opportunity rather than
	// updating one.
	New bool `json:"new"`
	// Opportunity is the opportunity as the server stored it.
	Opportunity Opportunity `json:"opportunity"`
	// RateLimit holds the rate-limit figures the response announced.
	RateLimit RateLimit `json:"-"`
	// Raw is the response body exactly as the server sent it, with any
	// fields the contract does not describe.
	Raw json.RawMessage `json:"-"`
}

// ID returns the opportunity's id, or "" when the response left it out.
// Keep it: an upsert that carries it updates instead of creating, and is
// safe to retry.
func (r *UpsertResult) ID() string {
	if r == nil {
		return ""
	}
	return r.Opportunity.Id
}

// Client calls the Leadway CRM API. It is safe for concurrent use; create
// one per token and share it.
type Client struct {
	api  *gen.Client
	cfg  config
	auth *authorizer
}

// New returns a client that authenticates with a static token: a sub-account
// Private Integration token, or an OAuth access token you refresh yourself.
// The token needs the opportunities.write scope. An empty token, or one that
// is not a valid header value, fails with [ErrInvalidToken].
func New(token string, opts ...Option) (*Client, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	return newClient(staticToken(token), false, opts)
}

// NewFromTokenSource returns a client that asks ts for a token before every
// attempt, such as an OAuth access token source from golang.org/x/oauth2
// (HighLevel access tokens expire after a day). After a 401 the client asks
// again and, when it gets a different token, retries once.
func NewFromTokenSource(ts oauth2.TokenSource, opts ...Option) (*Client, error) {
	if ts == nil {
		return nil, fmt.Errorf("%w: nil token source", ErrInvalidToken)
	}
	return newClient(ts, true, opts)
}

func newClient(ts oauth2.TokenSource, refreshable bool, opts []Option) (*Client, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.baseURL.Scheme == "http" && !cfg.insecureHTTP && !isLoopback(cfg.baseURL.Hostname()) {
		return nil, fmt.Errorf("leadway: refusing to send the token over plain http to %s (use https, or WithInsecureHTTP for a test network)", cfg.baseURL.Host)
	}
	auth := &authorizer{ts: ts, refreshable: refreshable}
	if st, ok := ts.(staticToken); ok {
		auth.static = []string{"Bearer " + string(st)}
	}
	// Shared, capacity-one header values: Set replaces them and Add copies,
	// so no request can write into another's.
	version, userAgent := []string{cfg.apiVersion}, []string{cfg.userAgent}
	hc := &http.Client{Transport: newTransport(&cfg, auth)}
	if cfg.httpClient != nil {
		hc.CheckRedirect = cfg.httpClient.CheckRedirect
		hc.Jar = cfg.httpClient.Jar
		// Its Timeout becomes a context deadline in each call: http.Client
		// would replace the transport's typed errors with its own.
	}
	api, err := gen.NewClient(cfg.baseURL.String(),
		gen.WithHTTPClient(hc),
		gen.WithRequestEditorFn(auth.edit),
		gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header["Version"] = version
			req.Header["User-Agent"] = userAgent
			return nil
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("leadway: %w", err)
	}
	return &Client{api: api, cfg: cfg, auth: auth}, nil
}

// Upsert creates an opportunity, or updates the one req.Id names, and
// reports which it did in the result's New field.
//
// The request is checked against the contract first; a problem is a
// [*ValidationError] and nothing is sent. Without req.Id the call is not
// idempotent, so a failure after the request reached the server is an
// [*UnknownOutcomeError] rather than a retry that could create a duplicate.
//
// Leadway API docs: https://developers.leadwaycrm.com (Upsert Opportunity)
//
//meta:operation POST /opportunities/upsert
func (c *Client) Upsert(ctx context.Context, req UpsertRequest) (*UpsertResult, error) {
	if ctx == nil {
		return nil, errors.New("leadway: nil context")
	}
	body, err := prepare(req)
	if err != nil {
		return nil, err
	}
	if hc := c.cfg.httpClient; hc != nil && hc.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, hc.Timeout)
		defer cancel()
	}
	cc := withCall(ctx, callInfo{key: body.LocationId, idempotent: body.Id != nil && *body.Id != ""})
	// The Version header comes from the request editor, which every
	// operation shares, so the generated parameter struct is not needed.
	resp, err := c.api.UpsertOpportunity(cc, nil, body)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	return c.decodeUpsert(resp, &cc.call)
}

// decodeUpsert turns the answer into a result or a typed error.
func (c *Client) decodeUpsert(resp *http.Response, call *callInfo) (*UpsertResult, error) {
	data, err := bodyBytes(resp, c.cfg.maxResponseBytes)
	if err != nil {
		return nil, err
	}
	status := resp.StatusCode
	if status < 200 || status > 299 {
		apiErr := newAPIError(status, resp.Header, data, call.attempts, c.auth)
		switch {
		case status == http.StatusTooManyRequests:
			return nil, newRateLimitError(apiErr, resp.Header)
		case status == http.StatusInternalServerError && !call.idempotent:
			return nil, &UnknownOutcomeError{Err: apiErr}
		}
		return nil, apiErr
	}
	rl := call.rateLimit
	fail := func(err error) (*UpsertResult, error) {
		return nil, &ResponseError{StatusCode: status, ContentType: resp.Header.Get("Content-Type"), Body: data, RateLimit: rl, Err: err}
	}
	if isTooLarge(resp) {
		return fail(ErrResponseTooLarge)
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return fail(fmt.Errorf("content type is not JSON"))
	}
	var shape struct {
		New         *bool        `json:"new"`
		Opportunity *Opportunity `json:"opportunity"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		return fail(fmt.Errorf("invalid JSON: %w", err))
	}
	if shape.New == nil || shape.Opportunity == nil {
		return fail(errors.New(`missing required field "new" or "opportunity"`))
	}
	return &UpsertResult{
		New:         *shape.New,
		Opportunity: *shape.Opportunity,
		RateLimit:   rl,
		Raw:         data,
	}, nil
}

// bodyBytes returns the body the transport buffered. Every response passes
// through the transport; reading any other body, capped, is a safeguard.
func bodyBytes(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	if b, ok := resp.Body.(*bufferedBody); ok {
		return b.data, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

func isTooLarge(resp *http.Response) bool {
	b, ok := resp.Body.(*bufferedBody)
	return ok && b.truncated
}

// isJSON reports whether a Content-Type is JSON, without the allocations of
// mime.ParseMediaType.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// unwrapURLError drops the *url.Error that http.Client puts around the
// transport's errors: their messages already say what failed, and the
// request line would only repeat the endpoint.
func unwrapURLError(err error) error {
	var te *transportError
	if errors.As(err, &te) {
		return te.err
	}
	return err
}

// authorizer sets the Authorization header from a token source. It is a
// request editor of the generated client, so every operation carries it,
// and the transport calls it again before each retry.
type authorizer struct {
	ts          oauth2.TokenSource
	refreshable bool
	static      []string // the header value of a static token, built once
	last        atomic.Pointer[string]
}

func (a *authorizer) token() (string, error) {
	t, err := a.ts.Token()
	if err != nil {
		return "", &tokenSourceError{err}
	}
	if t == nil {
		return "", fmt.Errorf("%w: token source returned no token", ErrInvalidToken)
	}
	if err := checkToken(t.AccessToken); err != nil {
		return "", fmt.Errorf("%w (from token source)", err)
	}
	a.last.Store(&t.AccessToken)
	return t.AccessToken, nil
}

// redact removes the token from text a server sent back, such as a proxy's
// error page that echoes the request's headers.
func (a *authorizer) redact(s string) string {
	if st, ok := a.ts.(staticToken); ok {
		return strings.ReplaceAll(s, string(st), "REDACTED")
	}
	if last := a.last.Load(); last != nil {
		return strings.ReplaceAll(s, *last, "REDACTED")
	}
	return s
}

// tokenSourceError reports a failing token source. Its message keeps to the
// error's kind: an OAuth error response can carry other secrets in its body.
type tokenSourceError struct{ err error }

func (e *tokenSourceError) Error() string {
	var re *oauth2.RetrieveError
	if errors.As(e.err, &re) && re.Response != nil {
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		return fmt.Sprintf("leadway: invalid token: token source: the token endpoint answered %d (%s)", re.Response.StatusCode, code)
	}
	return "leadway: invalid token: token source: " + e.err.Error()
}

// Unwrap returns the token source's error, and [ErrInvalidToken].
func (e *tokenSourceError) Unwrap() []error { return []error{ErrInvalidToken, e.err} }

func (a *authorizer) edit(_ context.Context, req *http.Request) error {
	if a.static != nil {
		req.Header["Authorization"] = a.static
		return nil
	}
	tok, err := a.token()
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

type staticToken string

func (s staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s), TokenType: "Bearer"}, nil
}

// checkToken refuses tokens that would fail or split the header. The error
// never echoes the token.
func checkToken(tok string) error {
	switch {
	case tok == "":
		return fmt.Errorf("%w: empty", ErrInvalidToken)
	case strings.ContainsAny(tok, "\r\n"):
		return fmt.Errorf("%w: contains a line break", ErrInvalidToken)
	case strings.TrimSpace(tok) != tok:
		return fmt.Errorf("%w: leading or trailing white space", ErrInvalidToken)
	case !validHeaderValue(tok):
		return fmt.Errorf("%w: contains a control character", ErrInvalidToken)
	}
	return nil
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bufferedBody is a response body the transport read in full, so that the
// connection is released and retries can inspect it.
type bufferedBody struct {
	bytes.Reader
	data      []byte
	truncated bool
}

func (*bufferedBody) Close() error { return nil }

// CloseIdleConnections closes the connections the client keeps for reuse,
// for example when a service shuts down.
func (c *Client) CloseIdleConnections() {
	if hc, ok := c.api.Client.(*http.Client); ok {
		hc.CloseIdleConnections()
	}
}
