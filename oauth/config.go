package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Defaults of [Config].
const (
	// DefaultBaseURL is the LeadConnector host that serves the token
	// endpoint (POST /oauth/token) and POST /oauth/locationToken.
	DefaultBaseURL = "https://services.leadconnectorhq.com"
	// DefaultAuthURL is the Marketplace page where a user chooses the
	// location or agency that installs the app. White-label hosts serve the
	// same path under their own domain.
	DefaultAuthURL = "https://marketplace.gohighlevel.com/oauth/chooselocation"
	// APIVersion is the Version header POST /oauth/locationToken requires.
	APIVersion = "2021-07-28"
)

// Config is a Marketplace app: its credentials, where users are sent to
// install it, and where tokens come from.
type Config struct {
	// ClientID and ClientSecret are the app's credentials from the
	// Marketplace. Both are required. The secret never appears in an error
	// or a log line of this package.
	ClientID, ClientSecret string
	// RedirectURL is where the Marketplace sends the user back with a code.
	// It is sent with the authorization request and with the code exchange
	// when set.
	RedirectURL string
	// Scopes are requested at authorization, such as "opportunities.write"
	// and, for agency installs that mint location tokens, "oauth.write".
	Scopes []string
	// BaseURL is the API host. Default: [DefaultBaseURL].
	BaseURL string
	// AuthURL is the authorization page. Default: [DefaultAuthURL].
	AuthURL string
	// HTTPClient sends the token requests. Its Transport and Timeout are
	// used; each attempt is also bounded on its own (see
	// [WithTokenTimeout]). Default: a client of its own.
	HTTPClient *http.Client
}

// AuthCodeURL returns the URL to send a user to, so that they install the
// app and come back to RedirectURL with a code and state. Pass a fresh
// random state and check it when the user comes back: it ties the answer to
// the request.
func (c *Config) AuthCodeURL(state string) string {
	oc := oauth2.Config{
		ClientID:    c.ClientID,
		RedirectURL: c.RedirectURL,
		Scopes:      c.Scopes,
		Endpoint:    oauth2.Endpoint{AuthURL: orDefault(c.AuthURL, DefaultAuthURL)},
	}
	return oc.AuthCodeURL(state)
}

// checked returns a copy of c with the defaults filled in, or an error that
// names the field at fault and never shows the secret.
func (c *Config) checked() (Config, error) {
	if c == nil {
		return Config{}, errors.New("oauth: nil *Config")
	}
	out := *c
	out.Scopes = append([]string(nil), c.Scopes...)
	switch {
	case out.ClientID == "":
		return Config{}, errors.New("oauth: Config.ClientID is empty")
	case !validValue(out.ClientID):
		return Config{}, errors.New("oauth: Config.ClientID contains white space or a control character")
	case out.ClientSecret == "":
		return Config{}, errors.New("oauth: Config.ClientSecret is empty")
	case !validValue(out.ClientSecret):
		return Config{}, errors.New("oauth: Config.ClientSecret contains white space or a control character (not shown)")
	}
	out.BaseURL = strings.TrimSuffix(orDefault(out.BaseURL, DefaultBaseURL), "/")
	if err := checkURL("Config.BaseURL", out.BaseURL); err != nil {
		return Config{}, err
	}
	out.AuthURL = orDefault(out.AuthURL, DefaultAuthURL)
	if err := checkURL("Config.AuthURL", out.AuthURL); err != nil {
		return Config{}, err
	}
	if out.HTTPClient == nil {
		out.HTTPClient = &http.Client{}
	}
	return out, nil
}

// checkURL accepts https, and http for loopback hosts only: the client
// secret and every token travel to BaseURL.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("oauth: %s does not parse as a URL (not shown, as it may carry credentials)", field)
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("oauth: %s %q has no host", field, u.Redacted())
	case u.User != nil:
		return fmt.Errorf("oauth: %s %q must not carry user info", field, u.Redacted())
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("oauth: %s %q: the scheme must be https (http only for a loopback host)", field, u.Redacted())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validValue reports whether s is a single printable word: no white space,
// no control characters. Credentials, codes and tokens must be.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
