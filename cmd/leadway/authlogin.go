package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
	"github.com/spf13/cobra"
)

const loginLong = `Installs the app with OAuth and stores the install. It listens on a
loopback redirect URL, prints the authorization URL and opens it in a
browser ($BROWSER if set, else the desktop's opener when there is one);
after you choose a location or an agency and approve, the Marketplace
redirects to the loopback URL with a code, which is checked against this
login's state, exchanged for tokens and stored. It prints what was
installed, never a token.

--redirect-url must be one of the app's redirect URLs and an http URL on a
loopback host; port 0 picks a free port, for a fake or an app that accepts
any port. Exit codes: 0 installed, 2 usage (missing credentials, bad flags,
a bad --store), 3 refused (the authorization was denied, the code or the
client credentials refused), 5 the token endpoint could not be reached, 1
anything else: no redirect before --timeout, a redirect whose state does not
match, a store that failed.`

// loginFlags holds auth login's flags.
type loginFlags struct {
	clientID, baseURL, authURL, redirectURL string
	scopes                                  []string
	userType                                string
	noBrowser                               bool
	timeout                                 time.Duration
}

func newLoginCmd(e env, g *globalFlags, af *authFlags) *cobra.Command {
	f := &loginFlags{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Install the app in a browser and store the install",
		Long:  loginLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(runLogin(cmd.Context(), f, af, g, e))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.clientID, "client-id", "", "the app's client `ID` (default $LEADWAY_CLIENT_ID)")
	fs.StringVar(&f.baseURL, "base-url", "", "API base `URL` of the token endpoint (default $LEADWAY_BASE_URL, else "+oauth.DefaultBaseURL+")")
	fs.StringVar(&f.authURL, "auth-url", "", "authorization page `URL` (default $LEADWAY_AUTH_URL, else "+oauth.DefaultAuthURL+")")
	fs.StringVar(&f.redirectURL, "redirect-url", "http://127.0.0.1:0/callback", "loopback redirect `URL` to listen on")
	fs.StringSliceVar(&f.scopes, "scope", []string{"opportunities.write", "oauth.write"}, "`scopes` to ask for, comma-separated")
	fs.StringVar(&f.userType, "user-type", "", "send user_type `Location` or Company with the code exchange, if the app needs it")
	fs.BoolVar(&f.noBrowser, "no-browser", false, "only print the URL")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the redirect")
	return cmd
}

func runLogin(ctx context.Context, f *loginFlags, af *authFlags, g *globalFlags, e env) int {
	cfg, err := appConfig(e, f.clientID, f.baseURL)
	if err != nil {
		return fail(e, err)
	}
	cfg.AuthURL = firstNonEmpty(f.authURL, e.getenv("LEADWAY_AUTH_URL"))
	cfg.Scopes = f.scopes
	var opts []oauth.Option
	if f.userType != "" {
		opts = append(opts, oauth.WithUserType(oauth.UserType(f.userType)))
	}
	if l := g.logger(e); l != nil {
		opts = append(opts, oauth.WithLogger(l))
	}
	if f.timeout <= 0 {
		return fail(e, usageErrorf("auth login: --timeout %s: must be positive", f.timeout))
	}
	st, err := openStore(storeSpec(af.store, e))
	if err != nil {
		return fail(e, err)
	}
	defer st.close()
	ln, path, err := listenRedirect(f.redirectURL)
	if err != nil {
		return fail(e, err)
	}
	defer ln.Close()
	cfg.RedirectURL = "http://" + ln.Addr().String() + path
	mgr, err := oauth.NewManager(cfg, st, opts...)
	if err != nil {
		return fail(e, asUsage(err))
	}
	state := randomState()
	authURL := cfg.AuthCodeURL(state)
	fmt.Fprintf(e.stderr, "Open this URL in a browser to install the app:\n\n  %s\n\nWaiting for the redirect to %s (at most %s; Ctrl-C to stop)\n", authURL, cfg.RedirectURL, f.timeout)
	if !f.noBrowser {
		if opener := openBrowser(e, authURL); opener != "" {
			fmt.Fprintf(e.stderr, "Opened it with %s.\n", opener)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	code, err := awaitCode(wctx, ln, path, state)
	var refused *refusedError
	switch {
	case errors.As(err, &refused):
		return fail(e, err)
	case errors.Is(err, context.DeadlineExceeded):
		report(e, fmt.Errorf("auth login: no redirect came within %s; nothing was stored", f.timeout))
		return exitFailure
	case err != nil:
		report(e, err)
		return exitFailure
	}
	in, err := mgr.Exchange(ctx, code)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "Installed: %s.\nStored in %s: leadway upsert --store %s takes its tokens from there.\n", in, st.name, quoteArg(st.name))
	return exitOK
}

// listenRedirect listens on the host and port of a loopback http redirect
// URL and returns the listener and the URL's path.
func listenRedirect(raw string) (net.Listener, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, "", usageErrorf("auth login: --redirect-url %q: want http://HOST:PORT/PATH on a loopback host", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return nil, "", usageErrorf("auth login: --redirect-url %q: the host must be loopback (127.0.0.1, ::1 or localhost), so that the code never leaves this machine", raw)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, "", fmt.Errorf("auth login: listening for the redirect: %w", err)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	if host == "localhost" { // keep the name the app registered
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return namedListener{ln, "localhost:" + port}, path, nil
	}
	return ln, path, nil
}

// namedListener reports its address by the host name it was asked for.
type namedListener struct {
	net.Listener
	addr string
}

func (n namedListener) Addr() net.Addr { return namedAddr(n.addr) }

type namedAddr string

func (a namedAddr) Network() string { return "tcp" }
func (a namedAddr) String() string  { return string(a) }

// randomState is a fresh state for one login: it ties the redirect to it.
func randomState() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// sameState compares states in constant time.
func sameState(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// quoteArg quotes s for a POSIX shell when it needs it.
func quoteArg(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
