package leadway

import (
	"net/http"
	"reflect"
	"testing"
)

func TestRedactorFindsTokensHoweverWritten(t *testing.T) {
	r := &redactor{}
	r.remember("a/b+c&d")
	for _, tc := range []struct{ in, want string }{
		{"plain a/b+c&d end", "plain REDACTED end"},
		{`json "a\/b+c\u0026d"`, `json "REDACTED"`},
		{`go json a/b\u002bc\u0026d`, `go json REDACTED`},
		{`upper hex a\u002Fb+c&d`, `upper hex REDACTED`},
		{"url token=a%2Fb%2Bc%26d&x=1", "url token=REDACTED&x=1"},
		{"twice a/b+c&d and a/b+c&d", "twice REDACTED and REDACTED"},
		{`near miss a\/b+c&x \ %`, `near miss a\/b+c&x \ %`},
		{"", ""},
	} {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactorKeepsRecentTokens(t *testing.T) {
	r := &redactor{}
	for _, tok := range []string{"tok-1", "tok-2", "tok-3", "tok-4", "tok-5", "tok-5"} {
		r.remember(tok)
	}
	if got, want := r.String("tok-1 tok-2 tok-5"), "tok-1 REDACTED REDACTED"; got != want {
		t.Errorf("String = %q, want %q (the oldest of %d forgotten)", got, want, recentTokens+1)
	}
}

func TestRedactorHeader(t *testing.T) {
	r := &redactor{}
	r.remember("sekret")
	h := http.Header{
		"Authorization":                 {"Bearer sekret"},
		"Proxy-Authorization":           {"Basic dXNlcjpwdw=="},
		"Cookie":                        {"session=abc"},
		"Set-Cookie":                    {"id=1; HttpOnly"},
		"X-Debug-Request-Authorization": {"Bearer sekret"},
		"Content-Type":                  {"application/json"},
	}
	want := http.Header{
		"Authorization":                 {"Bearer REDACTED"},
		"Proxy-Authorization":           {"Basic REDACTED"},
		"Cookie":                        {"REDACTED"},
		"Set-Cookie":                    {"REDACTED"},
		"X-Debug-Request-Authorization": {"Bearer REDACTED"},
		"Content-Type":                  {"application/json"},
	}
	if got := r.Header(h); !reflect.DeepEqual(got, want) {
		t.Errorf("Header =\n%v\nwant\n%v", got, want)
	}
	if h.Get("Authorization") != "Bearer sekret" {
		t.Error("Header changed its argument")
	}
	if r.Header(nil) != nil {
		t.Error("Header(nil) is not nil")
	}
	var none *redactor
	if none.String("x") != "x" {
		t.Error("a nil redactor changed text")
	}
}
