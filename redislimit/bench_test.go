package redislimit_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/redislimit"
)

// BenchmarkCost measures what the Redis limiter adds to a call on loopback,
// against a real redis-server: Wait alone (one script), and Wait plus the
// Observe of the answer (two scripts), under a budget that never makes a
// call wait. Reported: the p50 and p99 of one op, in microseconds.
func BenchmarkCost(b *testing.B) {
	srv := startRedis(b)
	rdb := srv.Client(b)
	rl := leadway.RateLimit{Max: 1_000_000, Interval: time.Second, Remaining: -1, RetryAfter: -1, DailyLimit: -1, DailyRemaining: -1}
	for _, op := range []string{"wait", "wait+observe"} {
		b.Run("op="+op, func(b *testing.B) {
			l := redislimit.New(rdb, redislimit.WithPrefix(uniquePrefix(b)), redislimit.WithBudget(1_000_000, time.Second))
			ctx := context.Background()
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if err := l.Wait(ctx, "loc-1"); err != nil {
					b.Fatal(err)
				}
				if op == "wait+observe" {
					l.Observe("loc-1", rl)
				}
				took = append(took, time.Since(start))
			}
			if l.Fallback() {
				b.Fatal("the limiter fell back from Redis")
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2])/1e3, "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100])/1e3, "p99-µs")
		})
	}
}
