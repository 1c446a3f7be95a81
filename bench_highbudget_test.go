package leadway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
)

// highBudgetServer answers every upsert at once and announces a budget of
// 1,000,000 per second, counting down Remaining in fixed one-second
// windows as the vendor does: the limiter never has to wait, so what is
// measured is its cost.
func highBudgetServer(b *testing.B) *httptest.Server {
	var mu sync.Mutex
	var window time.Time
	used := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if now := time.Now().Truncate(time.Second); !now.Equal(window) {
			window, used = now, 0
		}
		used++
		left := 1_000_000 - used
		mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-RateLimit-Max", "1000000")
		h.Set("X-RateLimit-Interval-Milliseconds", "1000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(left, 0)))
		h.Set("X-RateLimit-Limit-Daily", "200000000")
		h.Set("X-RateLimit-Daily-Remaining", "199999999")
		_, _ = w.Write([]byte(createdJSON))
	}))
	b.Cleanup(srv.Close)
	return srv
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHighBudget runs 16 workers for 5 seconds against one location
// of a server announcing 1,000,000 per second, hand-written net/http and
// the default client side by side (run it with -benchtime 1x). It reports
// calls per second over the run and in its first and fifth second, and
// the process's CPU per call (the in-process server included, on both
// sides alike). The default client's throughput must not decay as its
// log fills: the fifth second keeps up with the first.
func BenchmarkHighBudget(b *testing.B) {
	const (
		workers = 16
		run     = 5 * time.Second
	)
	req := benchRequest()
	for _, impl := range []string{"handwritten", "client"} {
		b.Run("impl="+impl, func(b *testing.B) {
			srv := highBudgetServer(b)
			tr := newTunedTransport()
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			c, err := leadway.New(testToken, leadway.WithBaseURL(srv.URL), leadway.WithHTTPClient(hc))
			if err != nil {
				b.Fatal(err)
			}
			call := func(ctx context.Context) error {
				if impl == "handwritten" {
					_, err := handwritten(ctx, hc, srv.URL, testToken, req)
					return err
				}
				_, err := c.Upsert(ctx, req)
				return err
			}
			for b.Loop() {
				var perSecond [5]atomic.Int64
				ctx, cancel := context.WithTimeout(context.Background(), run)
				start, cpu0 := time.Now(), cpuTime()
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						for ctx.Err() == nil {
							if err := call(ctx); err != nil {
								if ctx.Err() == nil {
									b.Error(err)
								}
								return
							}
							if s := int(time.Since(start) / time.Second); s < len(perSecond) {
								perSecond[s].Add(1)
							}
						}
					})
				}
				wg.Wait()
				cancel()
				elapsed, cpu := time.Since(start), cpuTime()-cpu0
				var calls int64
				for i := range perSecond {
					calls += perSecond[i].Load()
				}
				b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
				b.ReportMetric(float64(perSecond[0].Load()), "calls-1st-s")
				b.ReportMetric(float64(perSecond[4].Load()), "calls-5th-s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(calls), "cpu-µs/call")
			}
		})
	}
}
