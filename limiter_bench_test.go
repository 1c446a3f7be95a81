package leadway

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkLimiterMemory measures the heap the default limiter holds after
// touching 100,000 locations once, and after the idle ones were evicted a
// minute later (the clock is moved, not waited for).
func BenchmarkLimiterMemory(b *testing.B) {
	const locations = 100_000
	keys := make([]string, locations)
	for i := range keys {
		keys[i] = "loc-" + strconv.Itoa(i)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var touched, evicted uint64
	var kept int
	for b.Loop() {
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		base := heap()
		l := newSlidingLimiter(defaultBurstMax, defaultBurstInterval, true)
		l.now = clock
		ctx := context.Background()
		for _, k := range keys {
			if err := l.Wait(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		touched = heap() - base
		mu.Lock()
		now = now.Add(sweepEvery + defaultBurstInterval)
		mu.Unlock()
		if err := l.Wait(ctx, "one-more"); err != nil { // sweeps
			b.Fatal(err)
		}
		evicted = heap() - base
		l.mu.Lock()
		kept = len(l.locs)
		l.mu.Unlock()
		runtime.KeepAlive(l)
	}
	b.ReportMetric(float64(touched)/(1<<20), "MiB-touched")
	b.ReportMetric(float64(touched)/locations, "B/location")
	b.ReportMetric(float64(evicted)/(1<<10), "KiB-after-eviction")
	b.ReportMetric(float64(kept), "locations-kept")
}
