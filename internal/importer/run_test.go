package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// writeDeals writes a CSV of n deals over locs locations; every tenth row
// updates by an id of its own.
func writeDeals(t *testing.T, n, locs int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deals.csv")
	var b strings.Builder
	b.WriteString("id,name,pipelineId,locationId,monetaryValue\n")
	for i := 1; i <= n; i++ {
		id := ""
		if i%10 == 0 {
			id = fmt.Sprintf("upd-%d", i)
		}
		fmt.Fprintf(&b, "%s,Deal %d,pipe-1,loc-%d,%d\n", id, i, i%locs, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// outputs reads the three output files: the file each row is in, and the
// opportunity id of each imported row. A row in two files fails the test.
func outputs(t *testing.T, sum *Summary) (where map[int]string, ids map[int]string) {
	t.Helper()
	where, ids = map[int]string{}, map[int]string{}
	for _, f := range []struct{ path, col string }{{sum.Results, "row"}, {sum.FailedFile, "_row"}, {sum.UnknownFile, "_row"}} {
		file, err := os.Open(f.path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(file).ReadAll()
		file.Close()
		if err != nil {
			t.Fatal(err)
		}
		col := -1
		for i, h := range recs[0] {
			if h == f.col {
				col = i
			}
		}
		for _, rec := range recs[1:] {
			n, _ := strconv.Atoi(rec[col])
			if was, ok := where[n]; ok {
				t.Errorf("row %d is in %s and %s", n, was, f.path)
			}
			where[n] = f.path
			if f.path == sum.Results {
				ids[n] = rec[2]
			}
		}
	}
	return where, ids
}

// transports holds the Transport each test client sends through.
var transports = map[*leadway.Client]*Transport{}

// newClient returns a client of srv that sends through a Transport.
func newClient(t testing.TB, srv *leadwaytest.Server, opts ...leadway.Option) *leadway.Client {
	t.Helper()
	tr := &Transport{Base: http.DefaultTransport.(*http.Transport).Clone()}
	c, err := srv.Client(append([]leadway.Option{leadway.WithHTTPClient(&http.Client{Transport: tr})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	transports[c] = tr
	t.Cleanup(func() { tr.Base.(*http.Transport).CloseIdleConnections(); delete(transports, c) })
	return c
}

func newConfig(path string) *Config {
	return &Config{Input: path, Spec: Spec{Format: FormatCSV}, PerLocation: 2, DrainTimeout: 5 * time.Second, Stop: make(chan struct{})}
}

func runImport(t *testing.T, client *leadway.Client, cfg *Config) *Summary {
	t.Helper()
	scan, err := Check(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(t.Context(), client, cfg, scan, transports[client])
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func name(o leadway.Opportunity) string { return o.Name }

// checkStore checks that the fake holds no duplicate, that every imported
// row's id names its deal, and that any other opportunity is a row of the
// unknown file.
func checkStore(t *testing.T, srv *leadwaytest.Server, sum *Summary, where map[int]string, ids map[int]string) {
	t.Helper()
	byName := map[string]int{}
	for _, o := range srv.Opportunities() {
		byName[name(o)]++
		n, _ := strconv.Atoi(strings.TrimPrefix(name(o), "Deal "))
		switch where[n] {
		case sum.Results:
			if ids[n] != o.Id {
				t.Errorf("row %d: results say %s, the fake holds %s", n, ids[n], o.Id)
			}
		case sum.UnknownFile:
		default:
			t.Errorf("the fake holds %q, which is in %q", name(o), where[n])
		}
	}
	for nm, c := range byName {
		if c > 1 {
			t.Errorf("%d opportunities named %q", c, nm)
		}
	}
	for n, id := range ids {
		if o, ok := srv.Opportunity(id); !ok || name(o) != fmt.Sprintf("Deal %d", n) {
			t.Errorf("row %d: id %s holds %q", n, id, name(o))
		}
	}
}

func TestRunImportsThroughFaults(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(5000, time.Second))
	defer srv.Close()
	faults := []leadwaytest.Fault{
		{Reset: true, Apply: true},
		{Status: 500},
		{Status: 429, Header: http.Header{"Retry-After": {"0"}}},
		{Status: 500, Apply: true},
		{Truncate: true},
		{Status: 503, Header: http.Header{"Retry-After": {"0"}}},
	}
	for i := range 150 {
		srv.FailNext(12, leadwaytest.Fault{})
		srv.FailNext(1, faults[i%len(faults)])
	}
	client := newClient(t, srv, leadway.WithMaxRetries(5), leadway.WithMaxRetryWait(10*time.Millisecond))
	path := writeDeals(t, 2000, 4)
	cfg := newConfig(path)
	sum := runImport(t, client, cfg)
	if sum.Pending > 0 {
		// A row whose retries all met 429s waits for a rerun, as a user
		// would be told to do.
		t.Logf("%d rows rate limited; running again", sum.Pending)
		sum = runImport(t, client, newConfig(path))
	}
	where, ids := outputs(t, sum)
	if len(where) != 2000 || !sum.Complete() {
		j, _ := os.ReadFile(sum.Journal)
		for _, l := range strings.Split(string(j), "\n") {
			if strings.Contains(l, "pending") {
				t.Log(l)
			}
		}
		t.Fatalf("%d rows in the output files, %d pending", len(where), sum.Pending)
	}
	if sum.Done+sum.Failed+sum.Unknown != 2000 || sum.Unknown == 0 || sum.Done < 1700 {
		t.Errorf("summary %+v", sum.Progress)
	}
	// Creates whose outcome is unknown (resets, 500s, cut answers) are in
	// the unknown file; updates by id were retried until they landed.
	for n, f := range where {
		if n%10 == 0 && f != sum.Results {
			t.Errorf("update row %d is in %s", n, f)
		}
	}
	checkStore(t, srv, sum, where, ids)
	st := srv.Stats()
	if st.Faults != 150*13 { // the no-op faults count too
		t.Errorf("%d faults taken, want %d", st.Faults, 150*13)
	}
	t.Logf("done %d, unknown %d, failed %d; fake %+v", sum.Done, sum.Unknown, sum.Failed, st)

	// Running it again sends nothing: every row has its outcome.
	before := srv.Stats().Requests
	again := runImport(t, client, newConfig(path))
	if srv.Stats().Requests != before || again.Done != sum.Done || again.Unknown != sum.Unknown {
		t.Errorf("a rerun sent %d requests; %+v", srv.Stats().Requests-before, again.Progress)
	}
}

func TestRunResumesRowsLeftInFlight(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client := newClient(t, srv, leadway.WithoutRateLimiter())
	path := writeDeals(t, 20, 1)
	cfg := newConfig(path)
	cfg.PerLocation = 1
	runImport(t, client, cfg)
	// A process killed in flight leaves "started" without its outcome:
	// cut the journal after the start of rows 9 and 10.
	data, err := os.ReadFile(cfg.journalPath())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	var kept []string
	for _, l := range lines {
		if strings.HasPrefix(l, `{"row":9,"ev":"done"`) || strings.HasPrefix(l, `{"row":10,"ev":"done"`) {
			continue
		}
		kept = append(kept, l)
	}
	if err := os.WriteFile(cfg.journalPath(), []byte(strings.Join(kept, "")+`{"row":11,"ev":"do`), 0o600); err != nil {
		t.Fatal(err)
	}
	before := srv.Stats().Requests
	sum := runImport(t, client, newConfig(path))
	where, _ := outputs(t, sum)
	// Row 9 (a create) may have landed: never sent again. Row 10 (an
	// update by id) is sent again. Row 11's cut line never happened, but
	// its done line came earlier, so it stays done.
	if where[9] != sum.UnknownFile || where[10] != sum.Results || where[11] != sum.Results {
		t.Errorf("row 9 in %s, row 10 in %s, row 11 in %s", where[9], where[10], where[11])
	}
	if got := srv.Stats().Requests - before; got != 1 {
		t.Errorf("the resume sent %d requests, want 1", got)
	}
	reqs := srv.Requests()
	if last := string(reqs[len(reqs)-1].Body); !strings.Contains(last, `"id":"upd-10"`) {
		t.Errorf("last request %s", last)
	}
	unknown, _ := os.ReadFile(sum.UnknownFile)
	if want := "id,name,pipelineId,locationId,monetaryValue,_row,_line,_reason\n,Deal 9,pipe-1,loc-0,9,9,10,the import stopped while this create was in flight; it may have been applied\n"; string(unknown) != want {
		t.Errorf("unknown file:\n%s\nwant:\n%s", unknown, want)
	}
}

func TestRunRefusesAChangedInput(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client := newClient(t, srv, leadway.WithoutRateLimiter())
	path := writeDeals(t, 3, 1)
	runImport(t, client, newConfig(path))
	if err := os.WriteFile(path, []byte("name,pipelineId,locationId\nOther,p,l\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := newConfig(path)
	scan, err := Check(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(t.Context(), client, cfg, scan, transports[client])
	if ce, ok := err.(*ChangedInputError); !ok || ce.Journal != path+".journal" || !strings.Contains(err.Error(), "pass --restart to start over") {
		t.Fatalf("err = %v", err)
	}
	// The dry run's plan refuses it the same way.
	if _, err := Done(cfg, scan); !errors.As(err, new(*ChangedInputError)) {
		t.Fatalf("Done on a changed input: err = %v, want *ChangedInputError", err)
	}
	cfg.Restart = true
	sum, err := Run(t.Context(), client, cfg, scan, transports[client])
	if err != nil || sum.Done != 1 || sum.Resumed {
		t.Errorf("restart: %+v, %v", sum, err)
	}
}

func TestRunStopsALocationWhoseDailyBudgetIsSpent(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithDailyLimit(5))
	defer srv.Close()
	client := newClient(t, srv, leadway.WithoutRateLimiter())
	path := writeDeals(t, 16, 2)
	sum := runImport(t, client, newConfig(path))
	if sum.Done != 10 || sum.Pending != 6 || len(sum.Spent) != 2 || sum.Complete() {
		t.Errorf("summary %+v, spent %v", sum.Progress, sum.Spent)
	}
	for loc, at := range sum.Spent {
		if time.Until(at) < time.Minute {
			t.Errorf("%s goes on at %s", loc, at)
		}
	}
	where, _ := outputs(t, sum)
	if len(where) != 10 {
		t.Errorf("%d rows in the output files, want the 10 done", len(where))
	}
}

func TestRunStopsGracefully(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(1000, time.Second))
	defer srv.Close()
	client := newClient(t, srv)
	path := writeDeals(t, 400, 2)
	cfg := newConfig(path)
	stop := make(chan struct{})
	var once sync.Once
	cfg.Stop = stop
	cfg.Progress = func(p Progress) {
		if p.Done >= 50 {
			once.Do(func() { close(stop) })
		}
	}
	sum := runImport(t, client, cfg)
	if !sum.Interrupted || sum.Pending == 0 || sum.Unknown != 0 || sum.Failed != 0 || sum.Done < 50 {
		t.Fatalf("summary %+v interrupted %t pending %d", sum.Progress, sum.Interrupted, sum.Pending)
	}
	// Every call started was let finish: the journal has no row left in
	// flight, and the resume sends each pending row once.
	before := srv.Stats()
	rest := runImport(t, client, newConfig(path))
	where, ids := outputs(t, rest)
	if len(where) != 400 || rest.Done != 400 || srv.Stats().Requests-before.Requests != sum.Pending {
		t.Errorf("resume: %+v, %d requests for %d pending", rest.Progress, srv.Stats().Requests-before.Requests, sum.Pending)
	}
	checkStore(t, srv, rest, where, ids)
}

func TestRunSendsAgainRowsThatMetOnly429s(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client := newClient(t, srv, leadway.WithoutRateLimiter(), leadway.WithMaxRetries(0))
	srv.FailNext(3, leadwaytest.Fault{Status: 429, Header: http.Header{"Retry-After": {"0"}}})
	path := writeDeals(t, 10, 1)
	sum := runImport(t, client, newConfig(path))
	if sum.Done != 10 || sum.Pending != 0 || sum.RateLimited != 3 {
		t.Errorf("summary %+v, pending %d", sum.Progress, sum.Pending)
	}
	if st := srv.Stats(); st.Requests != 13 || st.Created != 10 {
		t.Errorf("fake stats %+v", st)
	}
	where, ids := outputs(t, sum)
	if len(where) != 10 {
		t.Errorf("%d rows in the output files", len(where))
	}
	checkStore(t, srv, sum, where, ids)
}

func TestBudgetDurationCountsWholeWindows(t *testing.T) {
	b := Budget{Max: 100, Interval: 10 * time.Second, Daily: 300}
	for _, tc := range []struct {
		calls int
		want  time.Duration
		days  int
	}{
		{0, 0, 0},
		{1, 0, 1},
		{100, 0, 1},                             // one burst
		{101, 10 * time.Second, 1},              // the 101st waits a window
		{300, 20 * time.Second, 1},              // three bursts fill the day
		{301, 24 * time.Hour, 2},                // the next day's first burst
		{550, 24*time.Hour + 20*time.Second, 2}, // 250 on day two: three bursts
	} {
		if got, days := b.Duration(tc.calls); got != tc.want || days != tc.days {
			t.Errorf("Duration(%d) = %s, %d days; want %s, %d", tc.calls, got, days, tc.want, tc.days)
		}
	}
}

// TestRunSendsNothingAfterStop stops an import while calls wait for the
// limiter's next window: they are not sent when their slot comes, and their
// rows stay pending.
func TestRunSendsNothingAfterStop(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client := newClient(t, srv, leadway.WithRateLimiter(leadway.NewLimiter(10, 3*time.Second)))
	path := writeDeals(t, 100, 2)
	cfg := newConfig(path)
	stop := make(chan struct{})
	cfg.Stop = stop
	go func() {
		// The first window's 10 calls per location go out at once; then
		// each location's 2 workers wait for the next window.
		for srv.Stats().Requests < 20 {
			time.Sleep(5 * time.Millisecond)
		}
		close(stop)
	}()
	sum := runImport(t, client, cfg)
	if st := srv.Stats(); st.Requests != 20 {
		t.Errorf("the fake got %d requests, want the 20 of the first window", st.Requests)
	}
	if !sum.Interrupted || sum.Done != 20 || sum.Pending != 80 || sum.Unknown != 0 {
		t.Errorf("summary %+v interrupted %t", sum.Progress, sum.Interrupted)
	}
}
