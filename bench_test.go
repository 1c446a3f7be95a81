package leadway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/gen"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// benchRequest is the request both sides send: the same typed struct and,
// with the follower defaults spelled out, the same bytes on the wire.
func benchRequest() leadway.UpsertRequest {
	r := minimal()
	r.Name = leadway.Ptr("Website redesign")
	r.MonetaryValue = leadway.Ptr(220.0)
	r.Followers = []string{}
	r.FollowersActionType = leadway.FollowersAdd
	return r
}

// handwritten is the baseline: what a careful engineer writes with net/http
// and encoding/json and the same generated structs, without retries, rate
// limiting or typed errors.
func handwritten(ctx context.Context, hc *http.Client, url, token string, req leadway.UpsertRequest) (*gen.UpsertOpportunityResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/opportunities/upsert", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Version", leadway.APIVersion)
	r.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	var out gen.UpsertOpportunityResult
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func newTunedTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// benchPair runs the baseline and the client side by side against base.
func benchPair(b *testing.B, url string, rt http.RoundTripper) {
	ctx := context.Background()
	req := benchRequest()
	b.Run("impl=handwritten", func(b *testing.B) {
		hc := &http.Client{Transport: rt}
		if rt == nil {
			tr := newTunedTransport()
			defer tr.CloseIdleConnections()
			hc.Transport = tr
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := handwritten(ctx, hc, url, testToken, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=client", func(b *testing.B) {
		opts := []leadway.Option{leadway.WithBaseURL(url)}
		if rt != nil {
			opts = append(opts, leadway.WithHTTPClient(&http.Client{Transport: rt}))
		}
		c, err := leadway.New(testToken, opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Upsert(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpsertLoopback is benchmark (a): a real HTTP/1.1 exchange over
// loopback, default client options (retries and limiter on; the limiter
// budget is raised by the server's headers so it never waits).
func BenchmarkUpsertLoopback(b *testing.B) {
	body := []byte(createdJSON)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("X-RateLimit-Max", "1000000")
		h.Set("X-RateLimit-Interval-Milliseconds", "1000")
		w.Write(body)
	}))
	defer srv.Close()
	benchPair(b, srv.URL, nil)
}

// memoryRT answers every request in memory, with no sockets, so that the
// client's own CPU cost is what is measured.
type memoryRT struct{ body []byte }

func (m memoryRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Max": {"1000000"}, "X-Ratelimit-Interval-Milliseconds": {"1000"}},
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: int64(len(m.body)),
		Request:       r,
	}, nil
}

// BenchmarkUpsertInMemory is benchmark (b).
func BenchmarkUpsertInMemory(b *testing.B) {
	benchPair(b, "https://api.test", memoryRT{body: []byte(createdJSON)})
}

// Benchmark (c): sustained throughput against the fake enforcing a burst
// budget scaled to 100 requests per second per location, so that a run
// takes seconds, under each window model. See steadyLoad for what runs and
// what is reported; b.N is the number of upserts to each location (1200
// makes 12 windows).
func BenchmarkThroughput(b *testing.B) {
	const (
		budget = 100
		window = time.Second
	)
	limiters := []struct {
		name string
		opt  func() leadway.Option
	}{
		// Told the app's budget up front.
		{"on", func() leadway.Option { return leadway.WithRateLimiter(leadway.NewLimiter(budget, window)) }},
		// The default: starts at the vendor's 100 per 10s and adapts to
		// the headers of the first answers.
		{"adaptive", nil},
		{"off", func() leadway.Option { return leadway.WithoutRateLimiter() }},
	}
	for _, model := range []leadwaytest.WindowModel{leadwaytest.FixedWindow, leadwaytest.SlidingWindow} {
		for _, lim := range limiters {
			for _, locations := range []int{1, 4} {
				b.Run(fmt.Sprintf("window=%s/limiter=%s/locations=%d", model, lim.name, locations), func(b *testing.B) {
					var opts []leadway.Option
					if lim.opt != nil {
						opts = append(opts, lim.opt())
					}
					steadyLoad(b, budget, window, model, locations, opts...)
				})
			}
		}
	}
}

// BenchmarkThroughputVendorBudget is the steady load at the vendor's own
// budget, 100 per 10s, unscaled: 4 locations, the sliding window, the
// default limiter. A run of 1200x takes two minutes.
func BenchmarkThroughputVendorBudget(b *testing.B) {
	steadyLoad(b, leadwaytest.DefaultRateMax, leadwaytest.DefaultRateInterval, leadwaytest.SlidingWindow, 4)
}

// steadyLoad runs b.N upserts to each of locations locations of a fake
// with a budget of max per window, from 64 goroutines sharing one client
// built with opts. Reported: requests per second over the whole run; the
// steady share of the budget (see steadyShare) of the location that used
// the least; the share of requests the server answered 429; and the errors
// returned to callers.
func steadyLoad(b *testing.B, max int, window time.Duration, model leadwaytest.WindowModel, locations int, opts ...leadway.Option) {
	const workers = 64
	srv, err := leadwaytest.Start(leadwaytest.WithRateLimit(max, window), leadwaytest.WithWindow(model))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := defaultClient(srv, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	total := int64(b.N * locations)
	var next, failed atomic.Int64
	var mu sync.Mutex
	done := make([][]time.Time, locations)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				loc := int(i % int64(locations))
				req := minimal()
				req.LocationId = fmt.Sprintf("loc-%d", loc)
				if _, err := c.Upsert(context.Background(), req); err != nil {
					failed.Add(1)
				}
				mu.Lock()
				done[loc] = append(done[loc], time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	st := srv.Stats()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
	least := math.Inf(1)
	for _, times := range done {
		least = min(least, steadyShare(times, max, window))
	}
	if !math.IsNaN(least) && !math.IsInf(least, 0) {
		b.ReportMetric(least, "%budget")
	}
	b.ReportMetric(100*float64(st.RateLimited)/float64(st.Requests), "%429")
	b.ReportMetric(float64(st.RateLimited), "429s")
	b.ReportMetric(float64(failed.Load()), "errors")
}

// steadyShare is the percentage of a budget of max per window that the
// calls to one location, done at times, used once past their first burst:
// K windows' worth of calls (K·max) over the time between the mean of the
// first max calls and the mean of the K-th max after them. Means of whole
// windows compare every call with the one max places before it, which is
// what a window budget limits. The first and the last call would not:
// each window's calls trail its first by the round trips they queued
// behind, so the first burst ends early and the last window ends late
// without any call having waited for the budget. NaN when there are fewer
// than two windows of calls.
func steadyShare(times []time.Time, max int, window time.Duration) float64 {
	k := len(times)/max - 1
	if k < 1 {
		return math.NaN()
	}
	times = slices.SortedFunc(slices.Values(times), time.Time.Compare)
	mean := func(block []time.Time) float64 {
		var sum time.Duration
		for _, t := range block {
			sum += t.Sub(times[0])
		}
		return sum.Seconds() / float64(len(block))
	}
	span := mean(times[k*max:(k+1)*max]) - mean(times[:max])
	return 100 * float64(k*max) / span / (float64(max) / window.Seconds())
}

// defaultClient is a client of srv with the defaults a user gets, the rate
// limiter included: unlike srv.Client, which turns the limiter off so that
// tests are not paced.
func defaultClient(srv *leadwaytest.Server, opts ...leadway.Option) (*leadway.Client, error) {
	return leadway.New(srv.Token, append([]leadway.Option{leadway.WithBaseURL(srv.URL)}, opts...)...)
}

// BenchmarkBurst sends 100 upserts at once, from 100 goroutines, to a fresh
// location of a fake with the vendor's budget of 100 per 10s: with the
// default limiter and with none. A burst of the budget should not wait.
// One op is the whole burst.
func BenchmarkBurst(b *testing.B) {
	const burst = 100
	for _, lim := range []string{"default", "off"} {
		b.Run("limiter="+lim, func(b *testing.B) {
			srv, err := leadwaytest.Start()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			var opts []leadway.Option
			if lim == "off" {
				opts = append(opts, leadway.WithoutRateLimiter())
			}
			c, err := defaultClient(srv, append(opts, leadway.WithHTTPClient(&http.Client{Transport: newTunedTransport()}))...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseIdleConnections()
			var failed atomic.Int64
			n := 0
			for b.Loop() {
				n++
				loc := fmt.Sprintf("burst-%d", n)
				var wg sync.WaitGroup
				for range burst {
					wg.Go(func() {
						req := minimal()
						req.LocationId = loc
						if _, err := c.Upsert(context.Background(), req); err != nil {
							failed.Add(1)
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(srv.Stats().RateLimited), "429s")
			b.ReportMetric(float64(failed.Load()), "errors")
		})
	}
}

// BenchmarkOverhead measures, one by one, the pieces the client adds to a
// call, so that BENCHMARKS.md can account for the gap to the baseline.
func BenchmarkOverhead(b *testing.B) {
	req := benchRequest()
	ctx := context.Background()
	b.Run("piece=request-generated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := gen.NewUpsertOpportunityRequest("https://api.test/", nil, req)
			if err != nil {
				b.Fatal(err)
			}
			_ = r.WithContext(ctx)
		}
	})
	b.Run("piece=request-handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body, err := json.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://api.test/opportunities/upsert", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
		}
	})
	b.Run("piece=attempt-deadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, cancel := context.WithTimeout(ctx, leadway.DefaultAttemptTimeout)
			_ = c.Done()
			cancel()
		}
	})
}

// steadyShare reads whole windows: a call pattern that keeps to the budget
// exactly reads 100%, one that loses 10ms a window reads 1000/1010, and
// neither the spread inside a window nor the first burst's end moves it.
func TestSteadyShare(t *testing.T) {
	t0 := time.Now()
	// windows builds n windows of max calls, window k starting at
	// k·(1s+lag), its calls spread over spread.
	windows := func(n, max int, lag, spread time.Duration) []time.Time {
		var times []time.Time
		for k := range n {
			for i := range max {
				times = append(times, t0.Add(time.Duration(k)*(time.Second+lag)+spread*time.Duration(i)/time.Duration(max)))
			}
		}
		return times
	}
	for _, tc := range []struct {
		name  string
		times []time.Time
		want  float64
	}{
		{"exact", windows(12, 100, 0, 0), 100},
		{"exact, spread", windows(12, 100, 0, 80*time.Millisecond), 100},
		{"10ms lost a window", windows(12, 100, 10*time.Millisecond, 30*time.Millisecond), 100 * 1000.0 / 1010},
		{"one window", windows(1, 100, 0, 0), math.NaN()},
	} {
		got := steadyShare(tc.times, 100, time.Second)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
			t.Errorf("%s: steadyShare = %v, want %v", tc.name, got, tc.want)
		}
	}
}
