// Package redact replaces secrets in text, wherever they appear: as
// themselves, or with any of their bytes escaped for JSON (\/, \", \\,
// \u00XX) or a URL (%XX). Package leadway's redactor and package oauth share
// it, so that a token is found the same way in a client's log line and in an
// OAuth error.
package redact

import "strings"

// Mask replaces a secret wherever text is shown.
const Mask = "REDACTED"

// Secret returns s with every occurrence of secret replaced by [Mask]. An
// empty secret changes nothing.
func Secret(s, secret string) string {
	if secret == "" || s == "" {
		return s
	}
	if !strings.ContainsAny(s, `\%`) && !(strings.Contains(s, "+") && strings.Contains(secret, " ")) {
		return strings.ReplaceAll(s, secret, Mask)
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if end := matchEscaped(s, i, secret); end > 0 {
			b.WriteString(s[last:i])
			b.WriteString(Mask)
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

// All returns s with every one of secrets replaced.
func All(s string, secrets ...string) string {
	for _, sec := range secrets {
		s = Secret(s, sec)
	}
	return s
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
		case c == ' ' && i < len(s) && s[i] == '+':
			// A form-encoded space.
			i++
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
