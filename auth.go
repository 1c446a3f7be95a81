package leadway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// credentials gives each attempt its Authorization value, from a static
// token or a token source, and tells the redactor every token it hands out.
type credentials struct {
	ts          oauth2.TokenSource
	fetchCtx    func(context.Context) (*oauth2.Token, error) // a context-aware source, instead of ts
	loc         *locationCreds                               // a per-location source, instead of ts
	refreshable bool                                         // a token source, which may hand out a new token after a 401
	static      []string                                     // the header value of a static token, built once
	redact      *redactor

	mu       sync.Mutex
	inflight *tokenFetch // the token source call in progress
}

// tokenFetch is one call of the token source, shared by the attempts that
// wait for it.
type tokenFetch struct {
	done   chan struct{}
	header string
	err    error
}

// useRedactor tells the redactor of the static token, and of every token
// handed out from now on.
func (c *credentials) useRedactor(red *redactor) {
	c.redact = red
	if st, ok := c.ts.(staticToken); ok {
		c.static = []string{"Bearer " + string(st)}
		red.remember(string(st))
	}
	var src any = c.ts
	if c.loc != nil {
		src = c.loc.src
		red.keep, red.perCall = recentLocationTokens, true
	}
	if sr, ok := src.(SecretReporter); ok {
		sr.ReportSecrets(red.rememberSecret)
	}
}

// header returns the Authorization value for the next attempt. A token
// source is asked each time; ctx bounds the wait for it. oauth2's
// TokenSource takes no context, so a fetch that outlives ctx goes on in the
// background, and its token serves the next attempt.
func (c *credentials) header(ctx context.Context) (string, error) {
	if c.static != nil {
		return c.static[0], nil
	}
	if c.loc != nil {
		return c.locationHeader(ctx)
	}
	if c.fetchCtx != nil {
		return c.use(c.fetchCtx(ctx))
	}
	if ctx.Done() == nil {
		return c.fetch()
	}
	c.mu.Lock()
	f := c.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		c.inflight = f
		go func() {
			f.header, f.err = c.fetch()
			c.mu.Lock()
			c.inflight = nil
			c.mu.Unlock()
			close(f.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.header, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("leadway: waiting for the token source: %w", ctx.Err())
	}
}

// headerValues is header as a header's values: for a location source,
// the shared, capacity-one slice of the location's token, which Set
// replaces and Add copies, so that no request writes into another's.
func (c *credentials) headerValues(ctx context.Context) ([]string, error) {
	if c.loc != nil {
		return c.locationValues(ctx)
	}
	v, err := c.header(ctx)
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

func (c *credentials) fetch() (string, error) {
	return c.use(c.ts.Token())
}

// use checks a token from a source and returns its header value.
func (c *credentials) use(t *oauth2.Token, err error) (string, error) {
	if err != nil {
		return "", &tokenSourceError{err}
	}
	if t == nil {
		return "", fmt.Errorf("%w: token source returned no token", ErrInvalidToken)
	}
	if err := checkToken(t.AccessToken); err != nil {
		return "", fmt.Errorf("%w (from token source)", err)
	}
	// Type maps "bearer" to "Bearer", as oauth2.Token.SetAuthHeader does.
	typ := t.Type()
	if strings.ContainsAny(typ, " \t") || !validHeaderValue(typ) {
		return "", fmt.Errorf("%w: token type is not a single word (from token source)", ErrInvalidToken)
	}
	c.redact.remember(t.AccessToken)
	return typ + " " + t.AccessToken, nil
}

// tokenSourceError reports a failing token source. Its message keeps to the
// error's kind: an OAuth error response can carry other secrets in its body.
// It matches [ErrInvalidToken] only when the token endpoint refused the
// credentials; an endpoint that cannot be reached or fails is not a bad
// token.
type tokenSourceError struct{ err error }

// refused reports whether the token endpoint answered with a 4xx.
func (e *tokenSourceError) refused() (*oauth2.RetrieveError, bool) {
	var re *oauth2.RetrieveError
	if errors.As(e.err, &re) && re.Response != nil {
		return re, re.Response.StatusCode >= 400 && re.Response.StatusCode < 500
	}
	return nil, false
}

func (e *tokenSourceError) Error() string {
	re, refused := e.refused()
	msg := e.err.Error()
	// A RetrieveError's own message carries the answer's body; a source
	// that wrapped it in words of its own is quoted.
	if re == nil || !strings.Contains(msg, re.Error()) {
		prefix := "leadway: token source: "
		if refused {
			prefix = "leadway: invalid token: token source: "
		}
		return prefix + strings.TrimPrefix(msg, "leadway: ")
	}
	code := re.ErrorCode
	if code == "" {
		code = "no error code"
	}
	prefix := "leadway: token source: "
	if refused {
		prefix = "leadway: invalid token: token source: "
	}
	return fmt.Sprintf("%sthe token endpoint answered %d (%s)", prefix, re.Response.StatusCode, code)
}

// Unwrap returns the token source's error, and [ErrInvalidToken] when the
// token endpoint refused the credentials.
func (e *tokenSourceError) Unwrap() []error {
	if _, refused := e.refused(); refused {
		return []error{ErrInvalidToken, e.err}
	}
	return []error{e.err}
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
