package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
)

// BenchmarkImportResources runs leadway import as its own process on
// files of 10,000, 100,000 and 1,000,000 rows over 100 locations, dry and
// real, against a fake whose budget never makes a call wait, and reports
// the process's peak RSS and its CPU per row. The baselines are the client
// alone, bench/fleet making 100,000 calls, its CPU per call: the import's
// calls through UpsertAll (bulk), and 64 workers on one location (client).
// Run it with -benchtime 1x (make bench does).
func BenchmarkImportResources(b *testing.B) {
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(1_000_000, time.Second))
	defer srv.Close()
	env := append(cleanEnv(), fakeEnv(srv)...)
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		// Written once, when a run of this size is picked.
		path := sync.OnceValue(func() string { return writeBenchDeals(b, n) })
		for _, mode := range []string{"dry", "real"} {
			b.Run(fmt.Sprintf("rows=%d/run=%s", n, mode), func(b *testing.B) {
				for b.Loop() {
					args := []string{"import", path(), "--pipeline-id", "pipe-1", "--restart"}
					if mode == "dry" {
						args = append(args, "--dry-run")
					}
					ru, hwm := runMeasured(b, env, binary, args...)
					b.ReportMetric(hwm, "peak-RSS-MB")
					b.ReportMetric(cpuOf(ru)/float64(n), "cpu-µs/row")
				}
			})
		}
	}
	fleet := filepath.Join(b.TempDir(), "fleet")
	if out, err := exec.Command("go", "build", "-o", fleet, "../../bench/fleet").CombinedOutput(); err != nil {
		b.Fatalf("building bench/fleet: %v\n%s", err, out)
	}
	const calls = 100_000 // as many as the import's rows it is held against
	for _, base := range []struct{ name, what string }{
		// The client making the import's calls: UpsertAll over the same
		// 100 locations, the same requests, a pool sized alike.
		{"bulk", "-bulk"},
		// The client's plainest use: 64 workers upserting to one location.
		{"client", "-workers=64"},
	} {
		b.Run("baseline="+base.name, func(b *testing.B) {
			for b.Loop() {
				ru, hwm := runMeasured(b, os.Environ(), fleet, "-url", srv.URL, "-token", srv.Token, "-calls", fmt.Sprint(calls), base.what)
				b.ReportMetric(hwm, "peak-RSS-MB")
				b.ReportMetric(cpuOf(ru)/calls, "cpu-µs/row")
			}
		})
	}
}

// runMeasured runs a command to its end and returns its resource use and
// its peak RSS in MB. The peak is the process's own VmHWM, read every 2 ms
// while it runs (a 10,000-row dry run lasts about 35 ms: read every 20 ms,
// its last reading could come before its peak): the rusage of a child
// started with vfork, as Go starts them, counts the parent's memory too.
func runMeasured(b *testing.B, env []string, bin string, args ...string) (*syscall.Rusage, float64) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var hwm float64
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	for {
		if data, err := os.ReadFile(status); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 64); err == nil {
						hwm = max(hwm, v/1024)
					}
				}
			}
		}
		select {
		case err := <-done:
			if err != nil && cmd.ProcessState.ExitCode() != 0 {
				b.Fatalf("%s %v: %v\n%.2000s", bin, args, err, out.String())
			}
			return cmd.ProcessState.SysUsage().(*syscall.Rusage), hwm
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func cpuOf(ru *syscall.Rusage) float64 {
	return float64(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Microseconds())
}

// writeBenchDeals writes n deals over 100 locations.
func writeBenchDeals(b *testing.B, n int) string {
	path := filepath.Join(b.TempDir(), fmt.Sprintf("deals-%d.csv", n))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "name,locationId,monetaryValue,status")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "Deal %d,loc-%d,%d,open\n", i, i%100, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}
