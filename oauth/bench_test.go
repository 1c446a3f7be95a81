package oauth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
)

// BenchmarkLocationToken is the cost of LocationToken in steady state,
// the token cached in memory, for 1 and 1,000 locations asked in turn: it
// must not grow with the locations, and must not allocate.
//
//	go test -run '^$' -bench BenchmarkLocationToken -benchmem ./oauth
func BenchmarkLocationToken(b *testing.B) {
	for _, n := range []int{1, 1000} {
		store := oauth.NewMemoryStore()
		locs := make([]string, n)
		for i := range locs {
			locs[i] = fmt.Sprintf("loc-%04d", i)
			seed(b, store, locs[i], time.Now(), 24*time.Hour)
		}
		mgr, err := oauth.NewManager(&oauth.Config{ClientID: "bench", ClientSecret: "bench-secret"}, store)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for _, loc := range locs {
			if _, err := mgr.LocationToken(ctx, loc); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("locations=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := mgr.LocationToken(ctx, locs[i%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("locations=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := mgr.LocationToken(ctx, locs[i%n]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
