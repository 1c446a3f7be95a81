package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/internal/redistest"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

const (
	appID     = "cli-app"
	appSecret = "cli-app-secret-7d1e"
)

// startOAuthFake starts a fake that is also the app's OAuth server.
func startOAuthFake(t *testing.T, opts ...leadwaytest.Option) *leadwaytest.Server {
	t.Helper()
	return startFake(t, append([]leadwaytest.Option{leadwaytest.WithOAuth(appID, appSecret)}, opts...)...)
}

// appEnv points the command at srv as the app, with a store of the test's.
func appEnv(srv *leadwaytest.Server, store string) []string {
	return []string{"LEADWAY_BASE_URL=" + srv.URL, "LEADWAY_AUTH_URL=" + srv.URL + "/oauth/chooselocation",
		"LEADWAY_CLIENT_ID=" + appID, "LEADWAY_CLIENT_SECRET=" + appSecret, "LEADWAY_STORE=" + store}
}

// login runs auth login and plays the browser with visit, which gets the
// authorization URL the command printed; it returns the run's result.
func login(t *testing.T, env []string, visit func(authURL string), args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"auth", "login", "--no-browser"}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errText strings.Builder
	sc := bufio.NewScanner(stderr)
	visited := false
	for sc.Scan() {
		line := sc.Text()
		errText.WriteString(line + "\n")
		if u := strings.TrimSpace(line); !visited && strings.HasPrefix(u, "http") && strings.Contains(u, "/oauth/chooselocation?") {
			visited = true
			go visit(u)
		}
	}
	_ = cmd.Wait()
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: errText.String()}
}

// browse follows the authorization URL as a browser would: the fake
// approves and redirects to the command's loopback URL.
func browse(t *testing.T) func(string) {
	return func(u string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Errorf("browsing %s: %v", u, err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// noSecrets fails when text shows the app secret or any token or code
// that crossed the wire to srv.
func noSecrets(t *testing.T, srv *leadwaytest.Server, text string) {
	t.Helper()
	secrets := []string{appSecret}
	for _, r := range srv.Requests() {
		if _, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
			secrets = append(secrets, tok)
		}
		form, _ := url.ParseQuery(string(r.Body))
		secrets = append(secrets, form.Get("code"), form.Get("refresh_token"))
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("the output shows a secret %q:\n%s", s, text)
		}
	}
}

// The whole flow: login stores a private file, status lists it without a
// token, upsert --store picks the token by location, logout removes it.
func TestAuthLoginStatusUpsertLogout(t *testing.T) {
	srv := startOAuthFake(t, leadwaytest.WithApprovedInstall(leadwaytest.Install{UserType: "Company", CompanyID: "co-1",
		ApprovedLocations: []string{"loc-a", "loc-b"}}))
	store := filepath.Join(t.TempDir(), "cfg", "installs.json")
	env := appEnv(srv, store)
	r := login(t, env, browse(t))
	if r.code != 0 || !strings.Contains(r.stdout, "Installed: Company install of company co-1, expires ") ||
		!strings.Contains(r.stdout, "2 approved locations") || !strings.Contains(r.stdout, "Stored in "+store) {
		t.Fatalf("login: %+v", r)
	}
	if info, err := os.Stat(store); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("store file: %v, %v", info, err)
	}
	all := r.stdout + r.stderr
	st := runCLI(t, env, "", "auth", "status")
	if st.code != 0 || !strings.Contains(st.stdout, "company:co-1") || !strings.Contains(st.stdout, "2 approved") {
		t.Errorf("status: %+v", st)
	}
	js := runCLI(t, env, "", "auth", "status", "--json")
	var views []map[string]any
	if err := json.Unmarshal([]byte(js.stdout), &views); err != nil || len(views) != 1 || views[0]["key"] != "company:co-1" || views[0]["expired"] != false {
		t.Errorf("status --json: %v %s", err, js.stdout)
	}
	all += st.stdout + js.stdout
	for _, loc := range []string{"loc-a", "loc-b"} {
		u := runCLI(t, env, "", "upsert", "--pipeline-id", "p", "--location-id", loc, "--name", "deal "+loc)
		if a := decode(t, u); !a.New {
			t.Errorf("upsert %s: %+v", loc, a)
		}
		all += u.stdout + u.stderr
	}
	bad := runCLI(t, env, "", "upsert", "--pipeline-id", "p", "--location-id", "loc-z")
	wantFailure(t, bad, exitUsage, "no stored install covers location loc-z: the store holds company:co-1")
	lo := runCLI(t, env, "", "auth", "logout", "--company-id", "co-1")
	if lo.code != 0 || lo.stdout != "Removed company:co-1 from "+store+".\n" {
		t.Errorf("logout: %+v", lo)
	}
	again := runCLI(t, env, "", "auth", "logout", "--company-id", "co-1")
	wantFailure(t, again, exitUsage, "no install company:co-1 in "+store)
	if st := runCLI(t, env, "", "auth", "status"); !strings.HasPrefix(st.stdout, "No installs in ") {
		t.Errorf("status after logout: %+v", st)
	}
	noSecrets(t, srv, all+bad.stderr+lo.stdout)
	if os := srv.OAuthStats(); os.Exchanges != 1 || os.LocationTokens != 2 {
		t.Errorf("OAuthStats = %+v", os)
	}
}

// A redirect whose state is not the login's, or that says the user
// refused, stores nothing; each fails with its own exit code.
func TestAuthLoginRefusesAForeignRedirect(t *testing.T) {
	srv := startOAuthFake(t)
	store := filepath.Join(t.TempDir(), "installs.json")
	// callback plays a browser that comes back to the command with
	// params, and the login's own state unless params set one.
	callback := func(params url.Values) func(string) {
		return func(authURL string) {
			u, _ := url.Parse(authURL)
			back, _ := url.Parse(u.Query().Get("redirect_uri"))
			q := url.Values{"state": {u.Query().Get("state")}}
			for k, v := range params {
				q[k] = v
			}
			back.RawQuery = q.Encode()
			browse(t)(back.String())
		}
	}
	r := login(t, appEnv(srv, store), callback(url.Values{"code": {"c1"}, "state": {"forged"}}))
	wantLoginFailure(t, r, exitFailure, "the redirect's state does not match this login's")
	r = login(t, appEnv(srv, store), callback(url.Values{"error": {"access_denied"}}))
	wantLoginFailure(t, r, exitAPI, "the authorization was refused (access_denied)")
	r = login(t, appEnv(srv, store), callback(url.Values{"code": {"code-wrong"}}))
	wantLoginFailure(t, r, exitAPI, "the authorization code was refused (invalid_grant")
	r = login(t, appEnv(srv, store), func(string) {}, "--timeout", "300ms")
	wantLoginFailure(t, r, exitFailure, "no redirect came within 300ms; nothing was stored")
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("something was stored: %v", err)
	}
}

// wantLoginFailure checks a failed login: its code, and its last stderr
// line, after the URL it printed.
func wantLoginFailure(t *testing.T, r result, code int, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if r.code != code || !strings.HasPrefix(last, "leadway: ") || !strings.Contains(last, want) || r.stdout != "" {
		t.Errorf("exit %d (want %d), last line %q (want %q), stdout %q", r.code, code, last, want, r.stdout)
	}
}

// Bad input is refused before anything is sent, with a message that
// names the problem and shows no secret.
func TestAuthBadInput(t *testing.T) {
	srv := startOAuthFake(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "installs.json")
	env := appEnv(srv, store)
	unsafe := filepath.Join(dir, "unsafe.json")
	_ = os.WriteFile(unsafe, []byte(`{"installs":{}}`), 0o644)
	corrupt := filepath.Join(dir, "corrupt.json")
	_ = os.WriteFile(corrupt, []byte(`{"installs":{"location:l":{"refresh_token":"rt-inside"`), 0o600)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no secret", []string{"LEADWAY_CLIENT_ID=" + appID, "LEADWAY_STORE=" + store}, []string{"auth", "login"}, "LEADWAY_CLIENT_SECRET is not set"},
		{"remote redirect", env, []string{"auth", "login", "--redirect-url", "http://example.com/cb"}, "the host must be loopback"},
		{"https redirect", env, []string{"auth", "login", "--redirect-url", "https://127.0.0.1/cb"}, "want http://HOST:PORT/PATH"},
		{"unsafe store", env, []string{"auth", "status", "--store", unsafe}, "has mode 0644, but it holds refresh tokens: only its owner may read it (chmod 600 " + unsafe + ")"},
		{"corrupt store", env, []string{"auth", "status", "--store", corrupt}, "is not the store's JSON (at byte"},
		{"redis URL", env, []string{"auth", "status", "--store", "redis://:pa55@host:port:x/0"}, "--store: not a redis:// or rediss:// URL"},
		{"logout needs one", env, []string{"auth", "logout"}, "pass one of --location-id and --company-id"},
		{"store and token", append(env, "LEADWAY_TOKEN=t"), []string{"upsert", "--pipeline-id", "p", "--location-id", "l"}, "both LEADWAY_TOKEN and LEADWAY_STORE are set"},
		{"store needs the app", []string{"LEADWAY_BASE_URL=" + srv.URL}, []string{"upsert", "--store", store, "--pipeline-id", "p", "--location-id", "l"}, "LEADWAY_CLIENT_ID is not set"},
		{"fake half OAuth", nil, []string{"fake", "--oauth-client-id", "x"}, "--oauth-client-id and --oauth-client-secret go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, "", tc.args...)
			wantFailure(t, r, exitUsage, tc.want)
			for _, s := range []string{appSecret, "pa55", "rt-inside"} {
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr shows %q: %s", s, r.stderr)
				}
			}
		})
	}
}

// Commands on one machine that find a token due at once redeem it once:
// the file store's lock serialises them.
func TestUpsertsOnOneMachineRefreshOnce(t *testing.T) {
	srv := startOAuthFake(t, leadwaytest.WithTokenLifetime(time.Second))
	store := filepath.Join(t.TempDir(), "installs.json")
	env := appEnv(srv, store)
	if r := login(t, env, browse(t)); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	time.Sleep(1100 * time.Millisecond) // the token expired
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Go(func() { results[i] = runCLI(t, env, "", "upsert", "--pipeline-id", "p", "--location-id", "loc-1") })
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("upsert %d: %+v", i, r)
		}
	}
	if os := srv.OAuthStats(); os.Refreshes != 1 || os.Reuses != 0 {
		t.Errorf("OAuthStats = %+v, want one refresh", os)
	}
}

// A refresh token spent elsewhere: the upsert fails with exit 3, names the
// location to reconnect, says how, and shows no secret.
func TestUpsertAfterTheInstallWasRevoked(t *testing.T) {
	srv := startOAuthFake(t, leadwaytest.WithTokenLifetime(time.Second))
	store := filepath.Join(t.TempDir(), "installs.json")
	env := appEnv(srv, store)
	if r := login(t, env, browse(t)); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	var refresh string
	for _, r := range srv.Requests() {
		if r.Path == "/oauth/token" {
			// The answer is not recorded; read the pair from the store.
			data, _ := os.ReadFile(store)
			var f struct {
				Installs map[string]struct {
					RefreshToken string `json:"refresh_token"`
				} `json:"installs"`
			}
			_ = json.Unmarshal(data, &f)
			refresh = f.Installs["location:loc-1"].RefreshToken
		}
	}
	resp, err := http.PostForm(srv.URL+"/oauth/token", url.Values{"client_id": {appID}, "client_secret": {appSecret},
		"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("redeeming out of band: %v %v", resp, err)
	}
	resp.Body.Close()
	time.Sleep(1100 * time.Millisecond)
	r := runCLI(t, env, "", "upsert", "--pipeline-id", "p", "--location-id", "loc-1")
	wantFailure(t, r, exitAPI, "location loc-1 must be authorized again")
	if !strings.Contains(r.stderr, "(leadway auth login)") {
		t.Errorf("no hint: %s", r.stderr)
	}
	noSecrets(t, srv, r.stderr)
}

// --store redis:// keeps installs where the replicas of a service share
// them.
func TestAuthWithARedisStore(t *testing.T) {
	rs := redistest.Start(t)
	srv := startOAuthFake(t)
	env := appEnv(srv, "redis://"+rs.Addr()+"/0")
	if r := login(t, env, browse(t)); r.code != 0 || !strings.Contains(r.stdout, "Stored in redis://"+rs.Addr()+"/0") {
		t.Fatalf("login: %+v", r)
	}
	if st := runCLI(t, env, "", "auth", "status"); !strings.Contains(st.stdout, "location:loc-1") {
		t.Errorf("status: %+v", st)
	}
	if a := decode(t, runCLI(t, env, "", "upsert", "--pipeline-id", "p", "--location-id", "loc-1")); !a.New {
		t.Errorf("upsert: %+v", a)
	}
	n, err := rs.Client(t).HLen(context.Background(), "leadway:oauth:installs").Result()
	if err != nil || n != 1 {
		t.Errorf("Redis holds %d installs (%v)", n, err)
	}
}
