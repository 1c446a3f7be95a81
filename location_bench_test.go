package leadway_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/oauth"
)

// BenchmarkLocationTokens measures what a token per location costs a call
// against a static token: token=static is the baseline, token=manager
// takes each call's token from an oauth.Manager in steady state (cached,
// no store round trip), over 1 or 1,000 locations called in turn, so that
// a cost growing with the locations would show. Both run in memory with
// no rate limiter, so that only the client's own CPU is measured; the
// parallel runs share one client across GOMAXPROCS goroutines.
//
//	go test -run '^$' -bench BenchmarkLocationTokens -benchmem -count 8 . | benchstat -col /token -
func BenchmarkLocationTokens(b *testing.B) {
	rt := &http.Client{Transport: memoryRT{body: []byte(createdJSON)}}
	common := []leadway.Option{leadway.WithBaseURL("https://api.test"), leadway.WithHTTPClient(rt), leadway.WithoutRateLimiter()}
	for _, locations := range []int{1, 1000} {
		locs := make([]string, locations)
		for i := range locs {
			locs[i] = fmt.Sprintf("loc-%04d", i)
		}
		clients := map[string]*leadway.Client{}
		static, err := leadway.New(testToken, common...)
		if err != nil {
			b.Fatal(err)
		}
		clients["static"] = static
		perLocation, err := leadway.NewFromLocationTokens(warmManager(b, locs), common...)
		if err != nil {
			b.Fatal(err)
		}
		clients["manager"] = perLocation
		for _, name := range []string{"static", "manager"} {
			c := clients[name]
			// Each location's header value is built on its first call:
			// steady state is what is measured.
			warm := benchRequest()
			for _, loc := range locs {
				warm.LocationId = loc
				if _, err := c.Upsert(context.Background(), warm); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("locations=%d/mode=serial/token=%s", locations, name), func(b *testing.B) {
				req := benchRequest()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					req.LocationId = locs[i%len(locs)]
					i++
					if _, err := c.Upsert(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("locations=%d/mode=parallel/token=%s", locations, name), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					req := benchRequest()
					i := 0
					for pb.Next() {
						req.LocationId = locs[i%len(locs)]
						i++
						if _, err := c.Upsert(context.Background(), req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// warmManager returns a manager whose store holds a day-long Location
// install of each location, each token already fetched once.
func warmManager(b *testing.B, locs []string) *oauth.Manager {
	store := oauth.NewMemoryStore()
	now := time.Now()
	for _, loc := range locs {
		in := &oauth.Install{AccessToken: "at-" + loc, RefreshToken: "rt-" + loc, TokenType: "Bearer", IssuedAt: now,
			Expiry: now.Add(24 * time.Hour), UserType: oauth.Location, LocationID: loc}
		if err := store.Put(context.Background(), in.Key(), in); err != nil {
			b.Fatal(err)
		}
	}
	mgr, err := oauth.NewManager(&oauth.Config{ClientID: "bench", ClientSecret: "bench-secret", BaseURL: "https://api.test"}, store)
	if err != nil {
		b.Fatal(err)
	}
	for _, loc := range locs {
		if _, err := mgr.LocationToken(context.Background(), loc); err != nil {
			b.Fatal(err)
		}
	}
	return mgr
}
