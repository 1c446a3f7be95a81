package leadway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of the options below.
const (
	// DefaultBaseURL is the LeadConnector host that serves Leadway CRM.
	DefaultBaseURL = "https://services.leadconnectorhq.com"
	// DefaultMaxRetries is how many times a call is retried by default.
	DefaultMaxRetries = 2
	// DefaultMaxRetryWait caps every wait between attempts by default.
	DefaultMaxRetryWait = 30 * time.Second
	// DefaultAttemptTimeout bounds one attempt, from sending the request to
	// reading the whole answer, by default.
	DefaultAttemptTimeout = 30 * time.Second
	// DefaultMaxResponseBytes caps how much of a response body is read.
	DefaultMaxResponseBytes = 4 << 20
)

// An Option configures a [Client]. Options check their input: New returns
// the first option's error.
type Option func(*config) error

type config struct {
	baseURL          *url.URL
	httpClient       *http.Client
	apiVersion       string
	userAgent        string
	maxRetries       int
	maxRetryWait     time.Duration
	attemptTimeout   time.Duration
	maxResponseBytes int64
	limiter          Limiter
	logger           *slog.Logger
	logBodies        bool
	insecureHTTP     bool
}

// transport builds the transport floor from the options: each part gets the
// settings it uses, and none of them reads the options again.
func (c *config) transport(creds *credentials, red *redactor) *transport {
	var base http.RoundTripper
	if c.httpClient != nil {
		base = c.httpClient.Transport
	}
	s := newSender(base, creds)
	s.attemptTimeout, s.maxResponseBytes, s.insecureHTTP = c.attemptTimeout, c.maxResponseBytes, c.insecureHTTP
	return &transport{
		cfg: transportConfig{
			baseHost:     c.baseURL.Host,
			maxRetries:   c.maxRetries,
			maxRetryWait: c.maxRetryWait,
			limiter:      c.limiter,
		},
		sender: s,
		log:    attemptLog{logger: c.logger, bodies: c.logBodies, redact: red},
		creds:  creds,
		redact: red,
	}
}

func defaultConfig() config {
	u, _ := url.Parse(DefaultBaseURL)
	return config{
		baseURL:          u,
		apiVersion:       APIVersion,
		userAgent:        "leadway-go/" + LibraryVersion,
		maxRetries:       DefaultMaxRetries,
		maxRetryWait:     DefaultMaxRetryWait,
		attemptTimeout:   DefaultAttemptTimeout,
		maxResponseBytes: DefaultMaxResponseBytes,
		limiter:          newAdaptiveLimiter(),
	}
}

// WithBaseURL sends requests to another host, such as a white-label domain,
// a proxy or a test server. A path prefix is kept, with or without a
// trailing slash, escaping included. User info, a query or a fragment is
// refused, and the error shows none of them. Plain http is refused for hosts other than loopback unless
// [WithInsecureHTTP] is given. Default: [DefaultBaseURL].
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		// An error names the URL only with its user info, query and fragment
		// redacted, and never passes on url.Parse's message, which quotes
		// the part it could not read (a password with a '?' reads as a port).
		u, err := url.Parse(rawURL)
		if err != nil {
			return errors.New("leadway: base URL does not parse as a URL (not shown, as it may carry credentials)")
		}
		switch {
		case u.Scheme != "https" && u.Scheme != "http":
			return fmt.Errorf("leadway: base URL %q: scheme must be https or http", redactURL(u))
		case u.Host == "":
			return fmt.Errorf("leadway: base URL %q: no host", redactURL(u))
		case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			return fmt.Errorf("leadway: base URL %q: must not carry user info, a query or a fragment", redactURL(u))
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			if u.RawPath != "" {
				u.RawPath += "/"
			}
		}
		c.baseURL = u
		return nil
	}
}

// redactURL shows u without its user info, query and fragment, which may
// carry credentials.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(redacted)
	}
	if c.RawQuery != "" {
		c.RawQuery = redacted
	}
	if c.Fragment != "" {
		c.Fragment, c.RawFragment = redacted, ""
	}
	return c.String()
}

// WithHTTPClient sends requests through hc. Its Transport (for tracing or a
// proxy), Timeout, Jar and CheckRedirect are kept; the client's retries,
// rate limiting, body limit and logging run on top of its Transport, which
// [Client.CloseIdleConnections] leaves alone since it may be shared.
// Default: a client of its own with a tuned copy of [http.DefaultTransport],
// or http.DefaultTransport itself when it has been replaced by something
// other than an *http.Transport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("leadway: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithAPIVersion sets the Version header. Default: [APIVersion], the only
// value the upsert endpoint accepts.
func WithAPIVersion(v string) Option {
	return func(c *config) error {
		if v == "" || !validHeaderValue(v) {
			return fmt.Errorf("leadway: API version %q: must be non-empty, without control characters", v)
		}
		c.apiVersion = v
		return nil
	}
}

// WithUserAgent sets the User-Agent header. Default: "leadway-go/" followed
// by [LibraryVersion].
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if ua == "" || !validHeaderValue(ua) {
			return fmt.Errorf("leadway: user agent %q: must be non-empty, without control characters", ua)
		}
		c.userAgent = ua
		return nil
	}
}

// WithMaxRetries sets how many times a call is retried, from 0 (retries
// off) to 10. Default: [DefaultMaxRetries], so a call makes at most three
// attempts.
//
// What is retried: a connection that failed before the request was written;
// 429 (after the Retry-After, Retry-After-Ms or X-RateLimit-Interval-Milliseconds
// wait, never when the daily budget is used up); and 503, which says the
// request was not taken on. Failures after which the server may have applied
// the upsert (a timeout or a reset once the request was sent, or a 5xx
// other than 503, since a gateway may answer 502 or 504 after the API
// applied it) are retried only when the request carries an opportunity id,
// which makes the upsert idempotent (500, 502 and 504, or no answer);
// without an id they end the call with an [*UnknownOutcomeError] after one
// request. Nothing below the client replays a request without an id: it
// reaches net/http without GetBody. Other waits back off exponentially from
// 500ms to 8s, with jitter. A 401 is retried once, apart from this budget,
// when a token source hands out a different token.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 10 {
			return fmt.Errorf("leadway: max retries %d: must be between 0 and 10", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithMaxRetryWait caps every wait between attempts, so that a huge or hostile
// Retry-After cannot stall a caller. It caps the rate limiter's wait before a
// retry too: when the limiter would hold the retry longer, the call ends
// with a [*RateLimitError] whose RetryAfter says how long. The context's
// deadline also cuts a wait short. Default: [DefaultMaxRetryWait].
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("leadway: max retry wait %s: must be positive", d)
		}
		c.maxRetryWait = d
		return nil
	}
}

// WithAttemptTimeout bounds each attempt, from sending the request to reading
// the whole answer; 0 leaves attempts bounded only by the context. A timeout
// after the request was written is an unknown outcome (see [WithMaxRetries]).
// Default: [DefaultAttemptTimeout].
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("leadway: attempt timeout %s: must not be negative", d)
		}
		c.attemptTimeout = d
		return nil
	}
}

// WithMaxResponseBytes caps how much of a response body is read. Any
// positive value works, math.MaxInt64 included; memory grows with what
// arrives, not with an announced Content-Length. A larger successful body
// fails the call with a [*ResponseError] wrapping [ErrResponseTooLarge]; a
// larger error body is cut. Default: [DefaultMaxResponseBytes] (4 MiB).
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("leadway: max response bytes %d: must be positive", n)
		}
		c.maxResponseBytes = n
		return nil
	}
}

// WithRateLimiter replaces the default limiter, for example with one that
// shares a budget across replicas. Default: [NewLimiter] with the vendor's
// 100 requests per 10 seconds per location, adapting to what responses
// announce. See [WithoutRateLimiter] to turn limiting off.
func WithRateLimiter(l Limiter) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("leadway: nil Limiter (use WithoutRateLimiter to turn limiting off)")
		}
		c.limiter = l
		return nil
	}
}

// WithoutRateLimiter turns proactive rate limiting off: calls go out at once
// and only 429 answers slow them down.
func WithoutRateLimiter() Option {
	return func(c *config) error {
		c.limiter = nil
		return nil
	}
}

// WithLogger logs each attempt at debug level: method, path, status, attempt
// number, duration, the wait before a retry and its reason, and the
// rate-limit figures. Everything logged passes through the client's
// redaction: the token never appears, even when a server echoes it.
// Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("leadway: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// WithBodyLogging adds request and response bodies and headers to the
// debug log of [WithLogger]. Credential headers keep only their scheme
// ("Bearer REDACTED"), and the token is replaced wherever else it appears,
// also escaped for JSON or a URL: the static token, or the last few a token
// source handed out. Bodies hold customer data, so this is off by default.
func WithBodyLogging() Option {
	return func(c *config) error {
		c.logBodies = true
		return nil
	}
}

// WithInsecureHTTP allows sending the token over plain http to hosts other
// than loopback. It exists for tests on private networks; never use it
// against the real API.
func WithInsecureHTTP() Option {
	return func(c *config) error {
		c.insecureHTTP = true
		return nil
	}
}
