package importer

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// benchInterval is the fake's window in BenchmarkImportBudgetShare:
// -import.interval=1s runs at the scale of the client's throughput
// benchmark, for a side-by-side reading, in 25 s.
var benchInterval = flag.Duration("import.interval", 250*time.Millisecond, "window of the fake's budget of 100 requests per location")

// BenchmarkImportBudgetShare imports 10,000 rows over 4 locations against a
// fake whose budget is the vendor's scaled 40 times (100 requests per
// 250 ms per location), and reports the share of that budget the import
// used while sending: requests sent against what the windows between the
// start and the last answer allowed. Writing the output files comes after,
// and counts in s/import only.
func BenchmarkImportBudgetShare(b *testing.B) {
	const (
		rows, locs = 10_000, 4
		max        = 100
	)
	interval := *benchInterval
	path := filepath.Join(b.TempDir(), "deals.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "name,pipelineId,locationId,monetaryValue")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(w, "Deal %d,pipe-1,loc-%d,%d\n", i, i%locs, i)
	}
	w.Flush()
	f.Close()
	for b.Loop() {
		srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(max, interval))
		// The client is told the budget, as --rate-max and --rate-interval
		// do; the default limiter would adopt it from the first answers.
		client := newClient(b, srv, leadway.WithRateLimiter(leadway.NewLimiter(max, interval)))
		cfg := newConfig(path)
		cfg.Restart = true
		cfg.PerLocation = 4
		var last atomic.Int64 // when the last call ended
		cfg.Progress = func(p Progress) {
			if p.Finished() == rows {
				last.CompareAndSwap(0, time.Now().UnixNano())
			}
		}
		scan, err := Check(cfg)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err := Run(b.Context(), client, cfg, scan, transports[client])
		total := time.Since(start)
		elapsed := time.Duration(last.Load() - start.UnixNano())
		if err != nil || sum.Done != rows {
			b.Fatalf("%v; %+v", err, sum)
		}
		st := srv.Stats()
		srv.Close()
		// The first call of each location opens a window, so the run
		// allowed max calls per location per started window.
		allowed := float64(locs*max) * elapsed.Seconds() / interval.Seconds()
		b.ReportMetric(100*float64(st.Requests)/allowed, "%budget")
		b.ReportMetric(float64(st.Requests)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(st.RateLimited), "429s")
		b.ReportMetric(total.Seconds(), "s/import")
	}
}

// BenchmarkCheckMillionRows checks a generated file of one million rows, as
// --dry-run does, and reports the peak heap: the input is streamed, so it
// stays flat whatever the file's size. Memory only; the time is incidental.
func BenchmarkCheckMillionRows(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "million.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "name,pipelineId,locationId,monetaryValue,status,followers")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(w, "Deal %d,pipe-1,loc-%d,%d,open,u1;u2\n", i, i%4, i)
	}
	w.Flush()
	f.Close()
	fi, _ := os.Stat(path)
	for b.Loop() {
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			var ms runtime.MemStats
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-t.C:
				case <-stop:
					return
				}
			}
		})
		scan, err := Check(&Config{Input: path, Spec: Spec{Format: FormatCSV}})
		close(stop)
		wg.Wait()
		if err != nil || scan.Rows != rows {
			b.Fatalf("%v; %+v", err, scan)
		}
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	}
}
