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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	api    *gen.Client
	cfg    config
	tr     *transport
	redact *redactor
}

// New returns a client that authenticates with a static token: a sub-account
// Private Integration token, or an OAuth access token you refresh yourself.
// The token needs the opportunities.write scope. An empty token, or one that
// is not a valid header value, fails with [ErrInvalidToken].
func New(token string, opts ...Option) (*Client, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	return newClient(&credentials{ts: staticToken(token)}, opts)
}

// NewFromTokenSource returns a client that asks ts for a token before every
// attempt, such as an OAuth access token source from golang.org/x/oauth2
// (HighLevel access tokens expire after a day). After a 401 the client asks
// again and, when it gets a different token, retries once. The header is the
// token's Type (Bearer unless the source says otherwise) and its
// AccessToken; an empty token fails with [ErrInvalidToken], as for [New].
//
// A TokenSource takes no context, so the call's context cannot stop a fetch
// in progress; it stops the call's wait for it. The fetch goes on in the
// background, shared by the calls that need a token meanwhile, and its
// token serves the next attempt. [ErrInvalidToken] is matched only when the
// token endpoint refused the credentials (a 4xx); an endpoint that cannot be
// reached fails with its network error.
func NewFromTokenSource(ts oauth2.TokenSource, opts ...Option) (*Client, error) {
	if ts == nil {
		return nil, fmt.Errorf("%w: nil token source", ErrInvalidToken)
	}
	return newClient(&credentials{ts: ts, refreshable: true}, opts)
}

// NewFromTokenFunc is [NewFromTokenSource] for a token source that takes a
// context, such as one that reads a secret store: fetch is called before
// every attempt with the call's context, so a context that ends stops the
// fetch itself. After a 401 the client calls it again and, when it returns
// a different token, retries once.
func NewFromTokenFunc(fetch func(ctx context.Context) (*oauth2.Token, error), opts ...Option) (*Client, error) {
	if fetch == nil {
		return nil, fmt.Errorf("%w: nil token func", ErrInvalidToken)
	}
	return newClient(&credentials{fetchCtx: fetch, refreshable: true}, opts)
}

func newClient(creds *credentials, opts []Option) (*Client, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.baseURL.Scheme == "http" && !cfg.insecureHTTP && !isLoopback(cfg.baseURL.Hostname()) {
		return nil, fmt.Errorf("leadway: refusing to send the token over plain http to %s (use https, or WithInsecureHTTP for a test network)", cfg.baseURL.Host)
	}
	red := &redactor{}
	c := &Client{cfg: cfg, redact: red}
	creds.useRedactor(red)
	c.tr = cfg.transport(creds, red)
	// Shared, capacity-one header values: Set replaces them and Add copies,
	// so no request can write into another's.
	version, userAgent := []string{cfg.apiVersion}, []string{cfg.userAgent}
	hc := &http.Client{Transport: c.tr}
	if cfg.httpClient != nil {
		hc.CheckRedirect = cfg.httpClient.CheckRedirect
		hc.Jar = cfg.httpClient.Jar
		// Its Timeout becomes a context deadline in each call: http.Client
		// would replace the transport's typed errors with its own.
	}
	// The transport authorizes each attempt; the request only carries the
	// headers every attempt shares.
	api, err := gen.NewClient(cfg.baseURL.String(),
		gen.WithHTTPClient(hc),
		gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header["Version"] = version
			req.Header["User-Agent"] = userAgent
			return nil
		}),
	)
	if err != nil {
		return nil, errors.New("leadway: base URL is not usable")
	}
	c.api = api
	return c, nil
}

// Upsert creates an opportunity, or updates the one req.Id names, and
// reports which it did in the result's New field.
//
// The request is checked against the contract first; a problem is a
// [*ValidationError] and nothing is sent. Without req.Id the call is not
// idempotent, so a failure after the request reached the server (a timeout,
// a reset, or a 5xx other than 503) is an [*UnknownOutcomeError] rather
// than a retry that could create a duplicate.
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
	return c.decodeUpsert(resp)
}

// decodeUpsert turns a 2xx answer into a result. The transport has turned
// refusals into typed errors already.
func (c *Client) decodeUpsert(resp *http.Response) (*UpsertResult, error) {
	data, truncated, err := bodyBytes(resp, c.cfg.maxResponseBytes)
	if err != nil {
		return nil, err
	}
	status := resp.StatusCode
	rl := parseRateLimit(resp.Header)
	// What shows the answer also hides the token this call sent.
	red := func() *redactor {
		if resp.Request == nil {
			return c.redact
		}
		return c.redact.forHeader(resp.Request.Header.Get("Authorization"))
	}
	if status < 200 || status > 299 {
		// A redirect http.Client did not follow, or a 1xx.
		return nil, newAPIError(status, resp.Header, rl, data, 1, red())
	}
	fail := func(err error) (*UpsertResult, error) {
		return nil, &ResponseError{StatusCode: status, ContentType: resp.Header.Get("Content-Type"), Body: red().Bytes(data), RateLimit: rl, Err: err}
	}
	if truncated {
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
func bodyBytes(resp *http.Response, limit int64) (data []byte, truncated bool, err error) {
	defer resp.Body.Close()
	if b := bodyOf(resp); b != nil {
		return b.data, b.truncated, nil
	}
	b, err := readBody(resp.Body, resp.ContentLength, limit)
	if err != nil {
		return nil, false, err
	}
	return b.data, b.truncated, nil
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

// Redact returns a copy of h fit to show, as the client's own logs and
// errors show headers: credential headers keep only their scheme
// ("Bearer REDACTED"), and any token the client has sent is replaced by
// REDACTED wherever it appears. Use it to print requests or answers of this
// client, as the leadway command's dry run does.
func (c *Client) Redact(h http.Header) http.Header {
	return c.redact.Header(h)
}

// RedactString returns s with any token the client has sent replaced by
// REDACTED, also where it was escaped for JSON or a URL: for a URL or a body
// of this client's that you print, as the dry run prints both.
func (c *Client) RedactString(s string) string {
	return c.redact.String(s)
}

// CloseIdleConnections closes the connections the client keeps for reuse,
// for example when a service shuts down. A transport passed with
// [WithHTTPClient] may be shared, so it is left alone: close it yourself.
func (c *Client) CloseIdleConnections() {
	c.tr.CloseIdleConnections()
}
