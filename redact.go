package leadway

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/leadwaycrm/leadway/internal/redact"
)

// redacted replaces a secret wherever the client shows text.
const redacted = redact.Mask

// recentTokens is how many tokens from a token source the redactor keeps:
// a server may echo a token that has since been replaced.
const recentTokens = 4

// recentLocationTokens is how many a per-location token source's client
// keeps: one per location in use, and their predecessors.
const recentLocationTokens = 32

// recentSecrets is how many other secrets a token source reported (refresh
// tokens, a client secret) the redactor keeps. The first is kept for good:
// a source reports its client secret first.
const recentSecrets = 16

// credentialHeaders carry credentials by name, whatever their value.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// redactor is the one path by which the client shows headers and bodies: log
// lines, APIError.Body, Messages and Header, error strings and the
// command's dry run. It knows the current token and the last few a token
// source handed out, and finds them also when a server escaped them for
// JSON or a URL.
type redactor struct {
	mu      sync.RWMutex
	tokens  []string // newest last
	keep    int      // how many tokens to keep; recentTokens when 0
	secrets []string // secrets the token source reported; the first is pinned
	// perCall says the client has more live tokens than the redactor
	// keeps (one per location): what shows a call's answer must also know
	// the token that call sent (see forHeader).
	perCall bool
}

// remember adds a token the client is about to send.
func (r *redactor) remember(tok string) {
	if tok == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := r.keep
	if keep == 0 {
		keep = recentTokens
	}
	r.tokens = addRecent(r.tokens, tok, keep, 0)
}

// rememberSecret adds a secret the client never sends but must never show:
// a refresh token or a client secret that a token source reported.
func (r *redactor) rememberSecret(s string) {
	if s == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = addRecent(r.secrets, s, recentSecrets, 1)
}

// addRecent appends s to list unless it is there, dropping the oldest entry
// after the first pinned ones when the list holds max.
func addRecent(list []string, s string, max, pinned int) []string {
	for _, t := range list {
		if t == s {
			return list
		}
	}
	if len(list) == max {
		list = append(list[:pinned], list[pinned+1:]...)
	}
	return append(list, s)
}

// forHeader returns a redactor that also knows the token of an
// Authorization value a call sent, for a client whose tokens are per
// location; r itself otherwise, or when it knows the token already. It
// allocates only when it must, on the paths that show an answer.
func (r *redactor) forHeader(auth string) *redactor {
	if r == nil || !r.perCall {
		return r
	}
	_, tok, ok := strings.Cut(auth, " ")
	if !ok || tok == "" {
		return r
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if slices.Contains(r.tokens, tok) {
		return r
	}
	return &redactor{tokens: append(slices.Clone(r.tokens), tok), secrets: slices.Clone(r.secrets), keep: r.keep}
}

// String returns s with every known token replaced.
func (r *redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, tok := range r.tokens {
		s = redactToken(s, tok)
	}
	for _, sec := range r.secrets {
		s = redactToken(s, sec)
	}
	return s
}

// Bytes returns b with every known token replaced; b itself when none was
// found.
func (r *redactor) Bytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	s := string(b)
	if out := r.String(s); out != s {
		return []byte(out)
	}
	return b
}

// Header returns a copy of h fit to show: credential headers keep only
// their scheme ("Bearer REDACTED"), and every other value loses any known
// token.
func (r *redactor) Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	c := make(http.Header, len(h))
	for k, vs := range h {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = r.String(v)
		}
		c[k] = out
	}
	for _, k := range credentialHeaders {
		for i, v := range c[k] {
			if scheme, _, ok := strings.Cut(v, " "); ok && k != "Cookie" && k != "Set-Cookie" {
				c[k][i] = scheme + " " + redacted
			} else {
				c[k][i] = redacted
			}
		}
	}
	return c
}

// redactToken replaces tok in s, written as itself or escaped for JSON or a
// URL.
func redactToken(s, tok string) string { return redact.Secret(s, tok) }
