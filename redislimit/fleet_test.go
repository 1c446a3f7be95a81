package redislimit_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/redislimit"
)

// The environment of a fleet member: set by the fleet test for the
// processes it starts.
const (
	envMember  = "REDISLIMIT_FLEET_MEMBER"
	envRedis   = "REDISLIMIT_FLEET_REDIS"
	envURL     = "REDISLIMIT_FLEET_URL"
	envToken   = "REDISLIMIT_FLEET_TOKEN"
	envPrefix  = "REDISLIMIT_FLEET_PREFIX"
	envWorkers = "REDISLIMIT_FLEET_WORKERS"
	envCalls   = "REDISLIMIT_FLEET_CALLS"
)

// The fleet's budget, scaled so that the test takes seconds. The margin is
// wider than the default 2.5ms for a 1s window, as the test runs under the
// race detector on a shared machine, where a request's trip varies more.
const (
	fleetMax    = 40
	fleetWindow = time.Second
	fleetMargin = 20 * time.Millisecond
)

// Three OS processes with eight workers each upsert to one location of one
// fake, which counts in sliding windows, sharing the budget through one
// Redis. Their clients do not retry, so a single 429 would fail a call: none
// may be drawn, and every call must succeed.
func TestFleetOfProcessesSharesOneBudget(t *testing.T) {
	if os.Getenv(envMember) != "" {
		t.Skip("a fleet member runs TestFleetMember only")
	}
	rs := startRedis(t)
	srv, err := leadwaytest.Start(leadwaytest.WithRateLimit(fleetMax, fleetWindow), leadwaytest.WithWindow(leadwaytest.SlidingWindow))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const procs, workers, calls = 3, 8, 10
	prefix := uniquePrefix(t)
	var wg sync.WaitGroup
	outputs := make([][]byte, procs)
	errs := make([]error, procs)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFleetMember$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			envMember+"=1", envRedis+"="+rs.Addr(), envURL+"="+srv.URL, envToken+"="+srv.Token,
			envPrefix+"="+prefix, envWorkers+"="+strconv.Itoa(workers), envCalls+"="+strconv.Itoa(calls))
		wg.Go(func() { outputs[i], errs[i] = cmd.CombinedOutput() })
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil {
			t.Errorf("fleet member %d: %v\n%s", i, errs[i], outputs[i])
		}
	}
	st := srv.Stats()
	if want := procs * workers * calls; st.RateLimited != 0 || st.Created != want || st.Requests != want {
		t.Errorf("fake saw %+v; want %d requests, all created, none rate limited", st, want)
	}
}

// TestFleetMember is one process of the fleet above.
func TestFleetMember(t *testing.T) {
	if os.Getenv(envMember) == "" {
		t.Skip("started by TestFleetOfProcessesSharesOneBudget")
	}
	workers, _ := strconv.Atoi(os.Getenv(envWorkers))
	calls, _ := strconv.Atoi(os.Getenv(envCalls))
	rdb := redisClient(os.Getenv(envRedis))
	defer rdb.Close()
	lim := redislimit.New(rdb, redislimit.WithPrefix(os.Getenv(envPrefix)),
		redislimit.WithBudget(fleetMax, fleetWindow), redislimit.WithSafetyMargin(fleetMargin),
		// Under the race detector on a busy machine a script can take
		// longer than the default 100ms; this test is about sharing, not
		// about the fallback.
		redislimit.WithTimeout(5*time.Second))
	c, err := leadway.New(os.Getenv(envToken), leadway.WithBaseURL(os.Getenv(envURL)),
		leadway.WithRateLimiter(lim), leadway.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				req := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "fleet-loc", Name: leadway.Ptr(fmt.Sprintf("w%d-%d", w, i))}
				if _, err := c.Upsert(context.Background(), req); err != nil {
					t.Errorf("worker %d call %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if lim.Fallback() {
		t.Error("the limiter fell back from Redis")
	}
}
