package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
)

// Two runs of one file at once: the second is refused before it sends
// anything, whether it starts with the first or a second later, and every
// row is created exactly once.
func TestImportTwoRunsOfOneFile(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Second} {
		t.Run(fmt.Sprint("second run after ", delay), func(t *testing.T) {
			srv := startFake(t, leadwaytest.WithRateLimit(100, time.Second))
			const n = 300
			path := writeDeals(t, n, 2)
			first, out1, err1 := startImport(t, srv, path, "--pipeline-id", "pipe-1")
			time.Sleep(delay)
			second := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1")
			_ = first.Wait()
			// Started together, either may take the lock: exactly one runs,
			// and the other is refused.
			refused, ran := second.code, first.ProcessState.ExitCode()
			refusal := second.stderr
			if delay == 0 && ran == exitLocked {
				refused, ran, refusal = ran, second.code, err1.String()
			}
			if ran != exitOK {
				t.Fatalf("the run that held the journal: exit %d\n%s%s%s", ran, out1, err1, second.stderr)
			}
			if refused != exitLocked || !strings.Contains(refusal, "another import (pid ") || !strings.Contains(refusal, "nothing was sent") {
				t.Errorf("the other run: exit %d, stderr %q; want %d, naming the holder", refused, refusal, exitLocked)
			}
			ids, unknown, failed := accounted(t, path, n)
			matchStore(t, srv, ids, unknown)
			if len(ids) != n || failed != 0 || len(srv.Opportunities()) != n {
				t.Errorf("%d created, %d failed; the fake holds %d, want %d", len(ids), failed, len(srv.Opportunities()), n)
			}
		})
	}
}

// A lock left by a killed run does not block the next.
func TestImportLockDiesWithTheProcess(t *testing.T) {
	srv := startFake(t, leadwaytest.WithRateLimit(10, time.Second))
	const n = 60
	path := writeDeals(t, n, 1)
	cmd, _, _ := startImport(t, srv, path, "--pipeline-id", "pipe-1")
	waitForFile(t, path+".journal.lock")
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	r := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1")
	if r.code != exitOK && r.code != exitUnavailable {
		t.Fatalf("the run after a kill: exit %d\n%s", r.code, r.stderr)
	}
	ids, unknown, _ := accounted(t, path, n)
	matchStore(t, srv, ids, unknown)
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// A journal whose last line was cut (a crash, a full disk) is repaired, and
// two resumes after it both work without creating a row twice.
func TestImportRepairsATornJournal(t *testing.T) {
	srv := startFake(t)
	const n = 40
	path := writeDeals(t, n, 2)
	// A first run that records a few events and leaves every row pending.
	wrong := []string{"LEADWAY_BASE_URL=" + srv.URL, "LEADWAY_TOKEN=wrong"}
	if r := runCLI(t, wrong, "", "import", path, "--pipeline-id", "pipe-1"); r.code != exitAuth {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	// Then an event cut in the middle, as a full disk leaves it.
	journal := path + ".journal"
	before, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(journal, append(before, `{"row":7,"ev":"`...), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1")
		if r.code != exitOK {
			t.Fatalf("resume %d: exit %d\n%s", i+1, r.code, r.stderr)
		}
		repaired := strings.Contains(r.stderr, "cut away a last line left unfinished by a crash or a full disk (15 bytes)")
		if repaired != (i == 0) {
			t.Errorf("resume %d: repair reported %v, want %v\n%s", i+1, repaired, i == 0, r.stderr)
		}
	}
	after, _ := os.ReadFile(journal)
	if !strings.HasPrefix(string(after), string(before)) || strings.Contains(string(after), `"ev":"{`) {
		t.Errorf("the journal was appended after the cut line")
	}
	ids, unknown, _ := accounted(t, path, n)
	matchStore(t, srv, ids, unknown)
	if len(ids) != n || len(srv.Opportunities()) != n {
		t.Errorf("%d results, the fake holds %d; want %d each", len(ids), len(srv.Opportunities()), n)
	}
}

// A wrong token stops the run at the first refusal: the fake sees at most
// the calls in flight, the rows stay pending, and a run with the right
// token creates each row once.
func TestImportStopsOnARefusedToken(t *testing.T) {
	srv := startFake(t)
	const n, locs = 250, 2
	path := writeDeals(t, n, locs)
	env := []string{"LEADWAY_BASE_URL=" + srv.URL, "LEADWAY_TOKEN=wrong"}
	r := runCLI(t, env, "", "import", path, "--pipeline-id", "pipe-1", "--per-location", "4")
	if r.code != exitAuth || !strings.Contains(r.stderr, "the API refused the token in LEADWAY_TOKEN") ||
		!strings.Contains(r.stderr, "none of them judged") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if sent := len(srv.Requests()); sent > 4*locs {
		t.Errorf("the fake saw %d requests before the stop, want at most %d (the calls in flight)", sent, 4*locs)
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("0 imported, 0 failed, 0 unknown, %d pending", n)) {
		t.Errorf("summary: %s", r.stdout)
	}
	good := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1")
	if good.code != exitOK {
		t.Fatalf("with the right token: exit %d\n%s", good.code, good.stderr)
	}
	ids, unknown, _ := accounted(t, path, n)
	matchStore(t, srv, ids, unknown)
	if len(ids) != n || len(srv.Opportunities()) != n {
		t.Errorf("%d results, the fake holds %d; want %d each", len(ids), len(srv.Opportunities()), n)
	}
}

// An output directory that cannot be written is found before any request;
// --output-dir puts the files elsewhere.
func TestImportChecksTheOutputDirectoryFirst(t *testing.T) {
	srv := startFake(t)
	path := writeDeals(t, 20, 1)
	ro := readOnlyDir(t)
	r := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1", "--output-dir", ro)
	if r.code != exitLocal || !strings.Contains(r.stderr, "checking that the output directory can be written: "+ro) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if sent := len(srv.Requests()); sent != 0 {
		t.Errorf("the fake saw %d requests; want none before the outputs can be written", sent)
	}
	out := t.TempDir()
	r = runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1", "--output-dir", out)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if rows := readCSV(t, filepath.Join(out, "deals.results.csv")); len(rows) != 20 {
		t.Errorf("%d rows in the results in --output-dir, want 20", len(rows))
	}
}

// readOnlyDir returns a directory nobody can write, root included: a
// read-only tmpfs mounted in a mount namespace of the test's own, or a
// skip saying why there is none.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return dir
	}
	// As root, chmod does not stop a write: mount a read-only tmpfs.
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir).Run(); err != nil {
		t.Skipf("running as root without the right to mount a read-only tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// Invalid UTF-8 is a row error of the check, with its line and column,
// and nothing is sent.
func TestImportRefusesInvalidUTF8(t *testing.T) {
	srv := startFake(t)
	path := filepath.Join(t.TempDir(), "bad.csv")
	body := "name,locationId\nGood,loc-1\n\xff\xfeBad,loc-1\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, fakeEnv(srv), "", "import", path, "--pipeline-id", "pipe-1")
	want := path + ":3: row 2: (row): column 1 (name), line 3, column 1: not valid UTF-8 (byte 1 of the cell)"
	if r.code != exitUsage || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant it to contain %q", r.code, r.stderr, want)
	}
	if sent := len(srv.Requests()); sent != 0 {
		t.Errorf("the fake saw %d requests", sent)
	}
}
