package redisstore_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/internal/redistest"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/oauth"
	"github.com/leadwaycrm/leadway/oauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// The environment of a fleet member, set by the fleet tests for the
// processes they start.
const (
	envMember    = "OAUTH_FLEET_MEMBER"
	envRedis     = "OAUTH_FLEET_REDIS"
	envURL       = "OAUTH_FLEET_URL"
	envPrefix    = "OAUTH_FLEET_PREFIX"
	envWorkers   = "OAUTH_FLEET_WORKERS"
	envDuration  = "OAUTH_FLEET_DURATION"
	envLocations = "OAUTH_FLEET_LOCATIONS"
	envLease     = "OAUTH_FLEET_LEASE"
)

const (
	fleetClientID = "fleet-app"
	fleetSecret   = "fleet-secret-5f2a9c"
	// fleetLifetime is the fake's token lifetime: refreshes come every
	// couple of seconds.
	fleetLifetime = 2 * time.Second
	// memberHeader names the process that sent a token request.
	memberHeader = "X-Fleet-Member"
)

// fleet is one run of member processes against a fake and a Redis.
type fleet struct {
	srv       *leadwaytest.Server
	redis     *redistest.Server
	prefix    string
	locations []string
}

// startFleetDeps starts the fake, with its rate limits out of the way, and
// a Redis, and installs the app: for one location, or for an agency
// approving several.
func startFleetDeps(t *testing.T, in leadwaytest.Install) *fleet {
	t.Helper()
	f := &fleet{redis: redistest.Start(t), prefix: uniquePrefix(t)}
	f.srv = leadwaytest.NewServer(leadwaytest.WithOAuth(fleetClientID, fleetSecret), leadwaytest.WithTokenLifetime(fleetLifetime),
		leadwaytest.WithRateLimit(1_000_000, time.Second), leadwaytest.WithDailyLimit(1_000_000_000))
	t.Cleanup(f.srv.Close)
	mgr, err := oauth.NewManager(&oauth.Config{ClientID: fleetClientID, ClientSecret: fleetSecret, BaseURL: f.srv.URL},
		redisstore.New(f.redis.Client(t), redisstore.WithPrefix(f.prefix)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := mgr.Exchange(context.Background(), f.srv.AuthorizationCode(in))
	if err != nil {
		t.Fatal(err)
	}
	f.locations = []string{got.LocationID}
	if got.UserType == oauth.Company {
		f.locations = got.ApprovedLocations
	}
	return f
}

// member is a running member process.
type member struct {
	cmd   *exec.Cmd
	out   strings.Builder
	calls int
	done  chan error
	// refreshing is closed when the member first says it sends a refresh.
	refreshing  chan struct{}
	refreshOnce sync.Once
}

// start starts n member processes with workers goroutines each, for d.
func (f *fleet) start(t *testing.T, n, workers int, d, lease time.Duration) []*member {
	t.Helper()
	members := make([]*member, n)
	for i := range members {
		m := &member{done: make(chan error, 1), refreshing: make(chan struct{})}
		m.cmd = exec.Command(os.Args[0], "-test.run=^TestFleetMember$", "-test.count=1", "-test.v")
		m.cmd.Env = append(os.Environ(), envMember+"="+strconv.Itoa(i), envRedis+"="+f.redis.Addr(), envURL+"="+f.srv.URL,
			envPrefix+"="+f.prefix, envWorkers+"="+strconv.Itoa(workers), envDuration+"="+d.String(),
			envLocations+"="+strings.Join(f.locations, ","), envLease+"="+lease.String())
		stdout, err := m.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		m.cmd.Stderr = m.cmd.Stdout
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				m.out.WriteString(line + "\n")
				if rest, ok := strings.CutPrefix(line, "fleet-member calls="); ok {
					m.calls, _ = strconv.Atoi(rest)
				}
				if line == refreshLine {
					m.refreshOnce.Do(func() { close(m.refreshing) })
				}
			}
			m.done <- m.cmd.Wait()
		}()
		members[i] = m
	}
	t.Cleanup(func() {
		for _, m := range members {
			_ = m.cmd.Process.Kill()
		}
	})
	return members
}

// wait waits for the members and returns the calls the successful ones
// made; a member that failed fails the test with its output.
func wait(t *testing.T, members []*member, killed int) int {
	t.Helper()
	total := 0
	for i, m := range members {
		err := <-m.done
		switch {
		case i == killed:
		case err != nil:
			t.Errorf("member %d: %v\n%s", i, err, m.out.String())
		default:
			total += m.calls
		}
	}
	return total
}

// checkFleet asserts that every successful call created one opportunity,
// that no refresh token was redeemed twice, and that refreshes came about
// once per token lifetime over span, not once per process.
func checkFleet(t *testing.T, f *fleet, calls int, span time.Duration, minRefreshes int) {
	t.Helper()
	st, oa := f.srv.Stats(), f.srv.OAuthStats()
	t.Logf("%d calls over %s; fake: %+v; OAuth: %+v", calls, span.Round(time.Millisecond), st, oa)
	if calls == 0 || st.Created != calls {
		t.Errorf("the members made %d calls; the fake created %d", calls, st.Created)
	}
	if oa.Reuses != 0 {
		t.Errorf("%d refresh tokens were redeemed twice", oa.Reuses)
	}
	// A token is refreshed a fifth of its lifetime before it expires.
	perLifetime := int(math.Ceil(span.Seconds() / (fleetLifetime.Seconds() * (1 - oauth.DefaultRefreshShare))))
	if oa.Refreshes < minRefreshes || oa.Refreshes > perLifetime+2 {
		t.Errorf("%d refreshes over %s; want about one per lifetime: %d to %d", oa.Refreshes, span, minRefreshes, perLifetime+2)
	}
	if len(f.locations) > 1 {
		if most := len(f.locations) * (perLifetime + 2); oa.LocationTokens < len(f.locations) || oa.LocationTokens > most {
			t.Errorf("%d location tokens minted for %d locations; want at most %d", oa.LocationTokens, len(f.locations), most)
		}
	}
}

// Eight processes of sixteen workers share one Location install through
// Redis for ten seconds, with tokens that live two seconds: every call
// succeeds, no refresh token is redeemed twice, and the fleet refreshes
// about once per lifetime.
func TestFleetSharesALocationInstall(t *testing.T) {
	skipInMember(t)
	f := startFleetDeps(t, leadwaytest.Install{LocationID: "fleet-loc"})
	start := time.Now()
	calls := wait(t, f.start(t, 8, 16, 10*time.Second, 0), -1)
	checkFleet(t, f, calls, time.Since(start), 4)
}

// The same with an agency install approving four locations: each
// location's token is minted about once per lifetime for the fleet.
func TestFleetSharesACompanyInstall(t *testing.T) {
	skipInMember(t)
	f := startFleetDeps(t, leadwaytest.Install{UserType: "Company", CompanyID: "fleet-co",
		ApprovedLocations: []string{"fl-1", "fl-2", "fl-3", "fl-4"}})
	start := time.Now()
	calls := wait(t, f.start(t, 8, 16, 10*time.Second, 0), -1)
	// The agency's pair is refreshed only when a mint needs it.
	checkFleet(t, f, calls, time.Since(start), 1)
}

// The token endpoint answers 503 for three seconds around the first
// expiry: calls wait or retry, then succeed; nothing is ErrReauthorize
// (a member fails on any error).
func TestFleetRidesOutATokenEndpointOutage(t *testing.T) {
	skipInMember(t)
	t.Parallel() // small: it runs beside the kill test
	f := startFleetDeps(t, leadwaytest.Install{LocationID: "outage-loc"})
	start := time.Now()
	members := f.start(t, 3, 4, 6*time.Second, 0)
	f.armBeforeExpiry(t, "location:outage-loc", func() {
		f.srv.FailTokenRequestsFor(3*time.Second, leadwaytest.Fault{Status: http.StatusServiceUnavailable})
	})
	calls := wait(t, members, -1)
	failed := 0
	for _, r := range f.srv.Requests() {
		if r.Path == "/oauth/token" && strings.Contains(string(r.Body), "grant_type=refresh_token") {
			failed++
		}
	}
	if oa := f.srv.OAuthStats(); failed <= oa.Refreshes {
		t.Errorf("%d refresh requests for %d refreshes: the outage was never met", failed, oa.Refreshes)
	}
	checkFleet(t, f, calls, time.Since(start), 1)
}

// The process holding the lock is killed while the fake holds its refresh
// request unanswered: the request spent nothing, the others go on once
// the lease runs out, and nothing is redeemed twice.
func TestFleetSurvivesAKilledLockHolder(t *testing.T) {
	skipInMember(t)
	t.Parallel()
	f := startFleetDeps(t, leadwaytest.Install{LocationID: "kill-loc"})
	f.srv.FailNextTokenRequests(1, leadwaytest.Fault{Delay: time.Minute})
	start := time.Now()
	// Each attempt lasts at most half the lease: the kill must come first.
	const lease = 4 * time.Second
	members := f.start(t, 3, 4, 9*time.Second, lease)
	cases := make([]reflect.SelectCase, len(members))
	for i, m := range members {
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(m.refreshing)}
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(time.After(30 * time.Second))})
	holder, _, _ := reflect.Select(cases)
	if holder == len(members) {
		t.Fatal("no member sent a refresh within 30s")
	}
	// Kill it once the fake holds its request.
	for held := false; !held; time.Sleep(5 * time.Millisecond) {
		for _, r := range f.srv.Requests() {
			held = held || r.Path == "/oauth/token" && r.Header.Get(memberHeader) == strconv.Itoa(holder)
		}
	}
	killedAt := time.Now()
	if err := members[holder].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	calls := wait(t, members, holder)
	oa := f.srv.OAuthStats()
	t.Logf("killed member %d at %s; %d calls by the others; OAuth: %+v", holder, killedAt.Sub(start).Round(time.Millisecond), calls, oa)
	// Had the holder given up its held request and sent another, the
	// kill would not have caught it holding the lock.
	sent := 0
	for _, r := range f.srv.Requests() {
		if r.Path == "/oauth/token" && r.Header.Get(memberHeader) == strconv.Itoa(holder) {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("the killed member sent %d token requests, want the one held", sent)
	}
	// The held request was never answered, so it spent nothing: had it,
	// the next redemption of the same refresh token would count as a reuse.
	if oa.Reuses != 0 || oa.Refreshes < 1 {
		t.Errorf("OAuthStats = %+v: want refreshes after the kill and no reuse", oa)
	}
	if st := f.srv.Stats(); calls == 0 || st.Created < calls {
		t.Errorf("the others made %d calls; the fake created %d", calls, st.Created)
	}
}

// armBeforeExpiry runs arm once the members are upserting, just before the
// refresh of the install's next expiry is due (a fifth of the lifetime
// before it), however long the members took to start.
func (f *fleet) armBeforeExpiry(t *testing.T, key string, arm func()) {
	t.Helper()
	store := redisstore.New(f.redis.Client(t), redisstore.WithPrefix(f.prefix))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f.srv.Stats().Created == 0 {
			continue
		}
		in, err := store.Get(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		due := in.Expiry.Add(-time.Duration(oauth.DefaultRefreshShare * float64(fleetLifetime)))
		if wait := time.Until(due) - 150*time.Millisecond; wait > 50*time.Millisecond {
			time.Sleep(wait)
			arm()
			return
		}
	}
	t.Fatal("the members never upserted, or the install never had a refresh ahead")
}

func skipInMember(t *testing.T) {
	if os.Getenv(envMember) != "" {
		t.Skip("a fleet member runs TestFleetMember only")
	}
}

// refreshLine is what a member prints when it sends a token request.
const refreshLine = "fleet-member token-request"

// memberTransport marks each token request with the member's number, and
// says on stdout that it sends one.
type memberTransport struct{ id string }

func (m memberTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(memberHeader, m.id)
	if r.URL.Path == "/oauth/token" {
		fmt.Println(refreshLine)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestFleetMember is one process of the fleets above: its workers upsert,
// each to the fleet's locations in turn, until the run ends, pausing a
// little between calls. Any failed call fails it.
func TestFleetMember(t *testing.T) {
	if os.Getenv(envMember) == "" {
		t.Skip("started by the fleet tests")
	}
	workers, _ := strconv.Atoi(os.Getenv(envWorkers))
	d, _ := time.ParseDuration(os.Getenv(envDuration))
	locations := strings.Split(os.Getenv(envLocations), ",")
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(envRedis)})
	defer rdb.Close()
	var opts []oauth.Option
	if lease, _ := time.ParseDuration(os.Getenv(envLease)); lease > 0 {
		opts = append(opts, oauth.WithLockLease(lease))
	}
	cfg := &oauth.Config{ClientID: fleetClientID, ClientSecret: fleetSecret, BaseURL: os.Getenv(envURL),
		HTTPClient: &http.Client{Transport: memberTransport{os.Getenv(envMember)}}}
	// Under the race detector on a busy machine Redis can take seconds to
	// answer; this test is about sharing, not about a slow store.
	store := redisstore.New(rdb, redisstore.WithPrefix(os.Getenv(envPrefix)), redisstore.WithTimeout(10*time.Second))
	mgr, err := oauth.NewManager(cfg, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := leadway.NewFromLocationTokens(mgr, leadway.WithBaseURL(os.Getenv(envURL)), leadway.WithoutRateLimiter())
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var calls atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				loc := locations[(w+i)%len(locations)]
				req := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: loc, Name: leadway.Ptr(fmt.Sprintf("w%d-%d", w, i))}
				if _, err := c.Upsert(context.Background(), req); err != nil {
					t.Errorf("worker %d call %d (%s): %v", w, i, loc, err)
					return
				}
				calls.Add(1)
				time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	fmt.Printf("fleet-member calls=%d\n", calls.Load())
}
