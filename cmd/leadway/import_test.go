package main

// End-to-end tests of leadway import: the real binary against the fake, in
// this process or as leadway fake, killed and run again.

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// writeDeals writes a CSV of n deals named "Deal N" over locs locations.
func writeDeals(t *testing.T, n, locs int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deals.csv")
	var b strings.Builder
	b.WriteString("name,locationId,monetaryValue,followers\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "Deal %d,loc-%d,%d,u1;u2\n", i, i%locs, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readCSV reads a whole CSV file as maps keyed by the header.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// accounted checks that every row 1..n is in exactly one output file, and
// returns the results' ids and the unknown rows.
func accounted(t *testing.T, input string, n int) (ids map[int]string, unknown map[int]bool, failed int) {
	t.Helper()
	base := strings.TrimSuffix(input, ".csv")
	ids, unknown = map[int]string{}, map[int]bool{}
	seen := map[int]string{}
	note := func(row, file string) int {
		k, err := strconv.Atoi(row)
		if err != nil || k < 1 || k > n {
			t.Fatalf("%s: row %q", file, row)
		}
		if was, ok := seen[k]; ok {
			t.Errorf("row %d is in %s and %s", k, was, file)
		}
		seen[k] = file
		return k
	}
	for _, r := range readCSV(t, base+".results.csv") {
		k := note(r["row"], "results")
		ids[k] = r["opportunityId"]
		if r["outcome"] != "created" {
			t.Errorf("row %d: outcome %q", k, r["outcome"])
		}
	}
	for _, r := range readCSV(t, base+".unknown.csv") {
		unknown[note(r["_row"], "unknown")] = true
	}
	for _, r := range readCSV(t, base+".failed.csv") {
		note(r["_row"], "failed")
		failed++
	}
	if len(seen) != n {
		t.Errorf("%d of %d rows in the output files", len(seen), n)
	}
	return ids, unknown, failed
}

func oppName(o leadway.Opportunity) string { return o.Name }

// matchStore checks the fake against the output files: no two
// opportunities for one row, each result's id holds its row, and any other
// opportunity is an unknown row's.
func matchStore(t *testing.T, srv *leadwaytest.Server, ids map[int]string, unknown map[int]bool) {
	t.Helper()
	rows := map[int]int{}
	for _, o := range srv.Opportunities() {
		k, _ := strconv.Atoi(strings.TrimPrefix(oppName(o), "Deal "))
		rows[k]++
		if id, ok := ids[k]; ok && id != o.Id {
			t.Errorf("row %d: results say %s, the fake holds %s", k, id, o.Id)
		}
		if _, ok := ids[k]; !ok && !unknown[k] {
			t.Errorf("the fake holds %q, which is in neither results nor unknown", oppName(o))
		}
	}
	dups := 0
	for k, c := range rows {
		if c > 1 {
			dups++
			t.Errorf("row %d: %d opportunities", k, c)
		}
	}
	for k, id := range ids {
		if o, ok := srv.Opportunity(id); !ok || oppName(o) != fmt.Sprintf("Deal %d", k) {
			t.Errorf("row %d: %s holds %q", k, id, oppName(o))
		}
	}
	t.Logf("the fake holds %d opportunities, %d duplicates; %d results, %d unknown", len(srv.Opportunities()), dups, len(ids), len(unknown))
}

func TestImportSurvivesKills(t *testing.T) {
	// A budget scaled up 10 times, so that the test takes seconds while the
	// import still outlasts 20 kills of at most 250ms each.
	srv := startFake(t, leadwaytest.WithRateLimit(100, time.Second))
	const n = 1500
	path := writeDeals(t, n, 2)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	args := []string{"import", path, "--pipeline-id", "pipe-1", "--per-location", "2"}
	kills := 0
	for kills < 20 {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(cleanEnv(), fakeEnv(srv)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rng.IntN(230)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() {
			t.Fatalf("run %d ended by itself (%v) before its kill: the input is too short for 20 kills", kills+1, err)
		}
		if ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d ended with %v, not by SIGKILL", kills+1, err)
		}
		kills++
	}
	r := runCLI(t, fakeEnv(srv), "", args...)
	if r.code != exitOK && r.code != exitUnavailable {
		t.Fatalf("last run: exit %d\n%s", r.code, r.stderr)
	}
	ids, unknown, failed := accounted(t, path, n)
	if failed != 0 {
		t.Errorf("%d rows failed", failed)
	}
	// A kill leaves at most the calls of both locations in flight unknown.
	if len(unknown) > kills*2*2 {
		t.Errorf("%d unknown rows after %d kills", len(unknown), kills)
	}
	if r.code == exitUnavailable != (len(unknown) > 0) {
		t.Errorf("exit %d with %d unknown rows", r.code, len(unknown))
	}
	matchStore(t, srv, ids, unknown)
	t.Logf("%d kills; %d requests", kills, srv.Stats().Requests)
}

func TestImportReimportsTheFixedFailedFile(t *testing.T) {
	srv := startFake(t)
	path := writeDeals(t, 10, 1)
	srv.FailNext(3, leadwaytest.Fault{Status: 422, Body: []byte(`{"statusCode":422,"message":["property x should not exist"],"error":"Unprocessable Entity"}`)})
	r := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1", "--per-location", "1")
	if r.code != exitAPI || !strings.Contains(r.stderr, "3 rows failed: fix ") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	failedPath := strings.TrimSuffix(path, ".csv") + ".failed.csv"
	data, err := os.ReadFile(failedPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "name,locationId,monetaryValue,followers,_row,_line,_error,_status\n" +
		"Deal 1,loc-0,1,u1;u2,1,2,422 Unprocessable Entity: property x should not exist,422\n" +
		"Deal 2,loc-0,2,u1;u2,2,3,422 Unprocessable Entity: property x should not exist,422\n" +
		"Deal 3,loc-0,3,u1;u2,3,4,422 Unprocessable Entity: property x should not exist,422\n"
	if string(data) != want {
		t.Errorf("failed file:\n%s\nwant:\n%s", data, want)
	}
	// Fix a row (any edit) and import the file as it is.
	fixed := strings.Replace(string(data), "Deal 2,loc-0,2,", "Deal 2,loc-0,20,", 1)
	if err := os.WriteFile(failedPath, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, fakeEnv(srv), "", "import", failedPath, "--pipeline-id", "pipe-1")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	ids, unknown, _ := accounted(t, failedPath, 3)
	for k := range 3 {
		o, _ := srv.Opportunity(ids[k+1])
		if oppName(o) != fmt.Sprintf("Deal %d", k+1) {
			t.Errorf("row %d: %q", k+1, oppName(o))
		}
	}
	if o, _ := srv.Opportunity(ids[2]); o.MonetaryValue != 20 {
		t.Errorf("the fixed value did not land: %+v", o.MonetaryValue)
	}
	if len(srv.Opportunities()) != 10 || len(unknown) != 0 {
		t.Errorf("the fake holds %d opportunities, want 10", len(srv.Opportunities()))
	}
}

func TestImportRefusesBadInputBeforeSending(t *testing.T) {
	srv := startFake(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("name,pipelineId,locationId,status,monetaryValue\nA,p,l,open,1\nB,,l,open,2\nC,p,l,closed,3\nD,p,l,won,x\n"), 0o600)
	r := runCLI(t, fakeEnv(srv), "", "import", bad)
	want := bad + ":3: row 2: pipelineId: is required\n" +
		bad + ":4: row 3: status: \"closed\" is not one of open, won, lost, abandoned, all\n" +
		bad + ":5: row 4: monetaryValue: \"x\" is not a number\n" +
		"leadway: import: 3 invalid rows (listed above); nothing was sent: fix them and run again\n"
	if r.code != exitUsage || r.stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	cols := filepath.Join(dir, "cols.csv")
	os.WriteFile(cols, []byte("name,deal_value,owner\nA,1,u\n"), 0o600)
	wantFailure(t, runCLI(t, fakeEnv(srv), "", "import", cols), exitUsage,
		`import: unknown columns "deal_value", "owner": the request has no such field; map them with --map COLUMN=FIELD`)
	wantFailure(t, runCLI(t, fakeEnv(srv), "", "import", filepath.Join(dir, "none.csv")), exitUsage, "no such file")
	wantFailure(t, runCLI(t, fakeEnv(srv), "", "import", cols, "--map", "deal_value"), exitUsage, `--map "deal_value": want COLUMN=FIELD`)
	wantFailure(t, runCLI(t, fakeEnv(srv), "", "import"), exitUsage, "accepts 1 arg(s), received 0")
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("the fake got %d requests", n)
	}
}

func TestImportDryRunPrintsThePlan(t *testing.T) {
	path := writeDeals(t, 1000, 3)
	r := runCLI(t, nil, "", "import", path, "--pipeline-id", "pipe-1", "--dry-run", "--daily-limit", "300")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"1000 rows, 3 locations, 0 updates by id, 1000 creates\n",
		"location  rows  done  calls     time  days\n",
		"   loc-0   333     0    333  24h0m0s     2\n",
		"   loc-1   334     0    334  24h0m0s     2\n",
		"1000 calls at 100 per 10s and 300 per day per location: about 24h0m0s, locations side by side.\n",
		"Journal: " + path + ".journal\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestImportAgainstFakeCommand runs the import against leadway fake, stops
// it with SIGINT, and resumes with the command it printed.
func TestImportAgainstFakeCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	fake := exec.CommandContext(ctx, binary, "fake", "--addr", "127.0.0.1:0", "--quiet", "--token", "tok-import", "--rate-max", "100", "--rate-interval", "1s")
	fake.Env = cleanEnv()
	out, err := fake.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	url := ""
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "Fake Leadway API listening on "); ok {
			url = u
			break
		}
	}
	stopFake := func() string {
		fake.Process.Signal(syscall.SIGINT)
		var rest strings.Builder
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
		fake.Wait()
		return rest.String()
	}
	if url == "" {
		stopFake()
		t.Fatal("the fake printed no URL")
	}
	env := append(cleanEnv(), "LEADWAY_BASE_URL="+url, "LEADWAY_TOKEN=tok-import")
	path := writeDeals(t, 300, 2)

	imp := exec.CommandContext(ctx, binary, "import", path, "--pipeline-id", "pipe-1", "--progress-interval", "100ms")
	imp.Env = env
	var stdout, stderr strings.Builder
	imp.Stdout, imp.Stderr = &stdout, &stderr
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	imp.Process.Signal(syscall.SIGINT)
	imp.Wait()
	if code := imp.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d after SIGINT\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "leadway: import: ") || !strings.Contains(stderr.String(), "rows/s, ETA ") {
		t.Errorf("no progress lines:\n%s", stderr.String())
	}
	_, resume, ok := strings.Cut(stderr.String(), "resume with:\n  ")
	resume = strings.TrimSpace(resume)
	if want := "leadway import --pipeline-id pipe-1 --progress-interval 100ms " + path; !ok || resume != want {
		t.Fatalf("resume command %q, want %q\n%s", resume, want, stderr.String())
	}
	fields := strings.Fields(resume)
	again := exec.CommandContext(ctx, binary, fields[1:]...)
	again.Env = env
	if out, err := again.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	ids, unknown, failed := accounted(t, path, 300)
	if len(ids) != 300 || len(unknown) != 0 || failed != 0 {
		t.Errorf("%d results, %d unknown, %d failed", len(ids), len(unknown), failed)
	}
	// Each row created once: as many creates as rows, no more requests.
	if rest := stopFake(); !strings.Contains(rest, "Stopped after 300 requests (300 created, 0 updated, 0 refused, 0 rate limited)") {
		t.Errorf("the fake says: %q", rest)
	}
}

func TestImportStopsALocationOutOfDailyBudget(t *testing.T) {
	srv := startFake(t, leadwaytest.WithDailyLimit(4))
	path := writeDeals(t, 12, 2) // 6 rows per location, 4 allowed a day
	args := []string{"import", path, "--pipeline-id", "pipe-1", "--per-location", "1"}
	r := runCLI(t, fakeEnv(srv), "", args...)
	if r.code != exitRateLimited {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"12 rows: 8 imported, 0 failed, 0 unknown, 4 pending",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{
		"leadway: location loc-0: daily budget used up; its rows wait until about ",
		"leadway: location loc-1: daily budget used up; its rows wait until about ",
		"leadway: 4 rows pending; after ",
		", go on with:\n  leadway import --per-location 1 --pipeline-id pipe-1 " + path + "\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// Of each location: 4 creates, the last of which said the day was
	// over, so the limiter stopped the location and nothing more was sent.
	if st := srv.Stats(); st.Created != 8 || st.Requests != 8 || st.RateLimited != 0 {
		t.Errorf("fake stats %+v", st)
	}
}

func TestImportJSONLines(t *testing.T) {
	srv := startFake(t)
	path := filepath.Join(t.TempDir(), "deals.jsonl")
	lines := `{"name":"Deal 1","pipelineId":"pipe-1","locationId":"loc-1","followers":["u1"]}
{"name":"Deal 2","pipelineId":"pipe-1","locationId":"loc-1","monetaryValue":20}
{"name":"Deal 3","pipelineId":"pipe-1","locationId":"loc-1"}
`
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, leadwaytest.Fault{})
	srv.FailNext(1, leadwaytest.Fault{Status: 422, Body: []byte(`{"statusCode":422,"message":["bad value"],"error":"Unprocessable Entity"}`)})
	r := runCLI(t, fakeEnv(srv), "", "import", path, "--per-location", "1")
	if r.code != exitAPI {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	failedPath := filepath.Join(filepath.Dir(path), "deals.failed.jsonl")
	data, err := os.ReadFile(failedPath)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_error":"422 Unprocessable Entity: bad value","_line":2,"_row":2,"_status":"422","locationId":"loc-1","monetaryValue":20,"name":"Deal 2","pipelineId":"pipe-1"}` + "\n"
	if string(data) != want {
		t.Errorf("failed file:\n%s\nwant:\n%s", data, want)
	}
	// The failed file imports as it is.
	if r := runCLI(t, fakeEnv(srv), "", "import", failedPath); r.code != exitOK {
		t.Fatalf("re-import: exit %d\n%s", r.code, r.stderr)
	}
	names := map[string]int{}
	for _, o := range srv.Opportunities() {
		names[oppName(o)]++
	}
	if len(names) != 3 || names["Deal 2"] != 1 {
		t.Errorf("the fake holds %v", names)
	}
	req := srv.Requests()[1]
	if string(req.Body) != `{"followers":[],"followersActionType":"add","isRemoveAllFollowers":false,"locationId":"loc-1","monetaryValue":20,"name":"Deal 2","pipelineId":"pipe-1"}` {
		t.Errorf("body sent: %s", req.Body)
	}
}

// TestImportStopsOnSIGTERM checks the other stop signal, and that calls in
// flight are let finish: the resume finds no row of unknown outcome.
func TestImportStopsOnSIGTERM(t *testing.T) {
	srv := startFake(t, leadwaytest.WithRateLimit(100, time.Second))
	path := writeDeals(t, 300, 2)
	cmd, _, stderr := startImport(t, srv, path, "--pipeline-id", "pipe-1")
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(stderr.String(), "resume with:\n  leadway import --pipeline-id pipe-1 "+path) {
		t.Fatalf("exit %d\n%s", cmd.ProcessState.ExitCode(), stderr.String())
	}
	// The stop is said at once, before the calls in flight end.
	if !regexp.MustCompile(`leadway: import: stopping; waiting for \d+ calls? in flight \(at most 30s; press Ctrl-C again to cancel them\)\n`).MatchString(stderr.String()) {
		t.Errorf("no word of the stop:\n%s", stderr.String())
	}
	r := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1")
	if r.code != exitOK {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	ids, unknown, _ := accounted(t, path, 300)
	if len(ids) != 300 || len(unknown) != 0 {
		t.Errorf("%d results, %d unknown", len(ids), len(unknown))
	}
	if st := srv.Stats(); st.Created != 300 || st.Requests != 300 {
		t.Errorf("fake stats %+v", st)
	}
}

// TestImportDrainTimeoutBoundsTheStop holds calls at the server past
// --drain-timeout: the stop cancels them, and the creates among them, which
// may have landed, go to the unknown file.
func TestImportDrainTimeoutBoundsTheStop(t *testing.T) {
	srv := startFake(t)
	path := writeDeals(t, 4, 1)
	srv.FailNext(10, leadwaytest.Fault{Delay: 20 * time.Second})
	cmd, stdout, stderr := startImport(t, srv, path, "--pipeline-id", "pipe-1", "--per-location", "2", "--drain-timeout", "300ms")
	time.Sleep(500 * time.Millisecond) // two calls are held at the server
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the stop took %s", took)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "4 rows: 0 imported, 0 failed, 2 unknown, 2 pending") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	unknown := readCSV(t, strings.TrimSuffix(path, ".csv")+".unknown.csv")
	if len(unknown) != 2 || !strings.Contains(unknown[0]["_reason"], "outcome unknown") {
		t.Errorf("unknown file: %v", unknown)
	}
}

// TestImportSecondSignalCancelsAtOnce: a second SIGINT does not wait out
// --drain-timeout.
func TestImportSecondSignalCancelsAtOnce(t *testing.T) {
	srv := startFake(t)
	path := writeDeals(t, 4, 1)
	srv.FailNext(10, leadwaytest.Fault{Delay: 20 * time.Second})
	cmd, stdout, _ := startImport(t, srv, path, "--pipeline-id", "pipe-1", "--per-location", "2", "--drain-timeout", "1m")
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the stop took %s", took)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(stdout.String(), "2 unknown, 2 pending") {
		t.Errorf("exit %d\n%s", code, stdout.String())
	}
}

// startImport starts `leadway import path args...` against srv as its own
// process, capturing what it prints.
func startImport(t *testing.T, srv *leadwaytest.Server, path string, args ...string) (cmd *exec.Cmd, stdout, stderr *strings.Builder) {
	t.Helper()
	cmd = exec.Command(binary, append([]string{"import", path}, args...)...)
	cmd.Env = append(cleanEnv(), fakeEnv(srv)...)
	stdout, stderr = &strings.Builder{}, &strings.Builder{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}

func TestResumeCommandHidesTheRedisPassword(t *testing.T) {
	cmd := newImportCmd(env{}, &globalFlags{})
	if err := cmd.ParseFlags([]string{"--pipeline-id", "pipe 1", "--redis", "redis://:s3cretpw@127.0.0.1:6379/0"}); err != nil {
		t.Fatal(err)
	}
	got := resumeCommand(cmd, "deals.csv")
	want := "leadway import --pipeline-id 'pipe 1' --redis redis://:xxxxx@127.0.0.1:6379/0 deals.csv"
	if got != want {
		t.Errorf("resume command:\n got %s\nwant %s", got, want)
	}
}
