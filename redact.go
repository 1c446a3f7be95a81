package leadway

import (
	"net/http"
	"strings"
	"sync"
)

// redacted replaces a secret wherever the client shows text.
const redacted = "REDACTED"

// recentTokens is how many tokens from a token source the redactor keeps:
// a server may echo a token that has since been replaced.
const recentTokens = 4

// credentialHeaders carry credentials by name, whatever their value.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// redactor is the one path by which the client shows headers and bodies: log
// lines, APIError.Body, Messages and Header, error strings and the
// command's dry run. It knows the current token and the last few a token
// source handed out, and finds them also when a server escaped them for
// JSON or a URL.
type redactor struct {
	mu     sync.RWMutex
	tokens []string // newest last
}

// remember adds a token the client is about to send.
func (r *redactor) remember(tok string) {
	if tok == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tokens {
		if t == tok {
			return
		}
	}
	if len(r.tokens) == recentTokens {
		r.tokens = append(r.tokens[:0], r.tokens[1:]...)
	}
	r.tokens = append(r.tokens, tok)
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

// redactToken replaces tok in s, written as itself or with any of its bytes
// escaped for JSON (\/, \", \\, \u00XX) or a URL (%XX).
func redactToken(s, tok string) string {
	if tok == "" {
		return s
	}
	if !strings.ContainsAny(s, `\%`) {
		return strings.ReplaceAll(s, tok, redacted)
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if end := matchEscaped(s, i, tok); end > 0 {
			b.WriteString(s[last:i])
			b.WriteString(redacted)
			i, last = end, end
			continue
		}
		i++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// matchEscaped returns where tok ends when it starts at s[i], or -1.
func matchEscaped(s string, i int, tok string) int {
	for j := 0; j < len(tok); j++ {
		c := tok[j]
		switch {
		case i < len(s) && s[i] == c:
			i++
		case i+1 < len(s) && s[i] == '\\' && s[i+1] == c && (c == '/' || c == '"' || c == '\\'):
			i += 2
		case i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' && hexValue(s[i+2:i+6]) == int(c):
			i += 6
		case i+3 <= len(s) && s[i] == '%' && hexValue(s[i+1:i+3]) == int(c):
			i += 3
		default:
			return -1
		}
	}
	return i
}

// hexValue parses hex digits, or returns -1.
func hexValue(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return n
}
