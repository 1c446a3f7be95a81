package leadway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// requests yields n requests spread round-robin over the given locations,
// each named after its index.
func requests(n int, locations ...string) iter.Seq[leadway.UpsertRequest] {
	return func(yield func(leadway.UpsertRequest) bool) {
		for i := range n {
			req := leadway.UpsertRequest{
				PipelineId: "pipe-1",
				LocationId: locations[i%len(locations)],
				Name:       leadway.Ptr(fmt.Sprintf("deal-%d", i)),
			}
			if !yield(req) {
				return
			}
		}
	}
}

func TestUpsertAllYieldsOneResultPerRequest(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	locations := []string{"loc-a", "loc-b", "loc-c"}
	seen := map[int]bool{}
	for r := range client.UpsertAll(t.Context(), requests(60, locations...), &leadway.BulkOptions{PerLocation: 1}) {
		if r.Err != nil {
			t.Fatalf("item %d: %v", r.Index, r.Err)
		}
		if seen[r.Index] {
			t.Fatalf("item %d yielded twice", r.Index)
		}
		seen[r.Index] = true
		if want := fmt.Sprintf("deal-%d", r.Index); *r.Request.Name != want || !r.Result.New {
			t.Errorf("item %d: request %q, new %t", r.Index, *r.Request.Name, r.Result.New)
		}
		stored, ok := srv.Opportunity(r.Result.ID())
		if !ok || stored.Name != *r.Request.Name || stored.LocationId != r.Request.LocationId {
			t.Errorf("item %d: the fake holds %+v", r.Index, stored)
		}
	}
	if len(seen) != 60 {
		t.Fatalf("%d results, want 60", len(seen))
	}
	if st := srv.Stats(); st.Requests != 60 || st.Created != 60 {
		t.Errorf("fake stats = %+v, want 60 requests creating 60", st)
	}
	// With one call per location at a time, each location's calls reach
	// the server in input order.
	last := map[string]int{}
	for _, req := range srv.Requests() {
		var body struct {
			LocationID string `json:"locationId"`
			Name       string `json:"name"`
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatal(err)
		}
		var i int
		fmt.Sscanf(body.Name, "deal-%d", &i)
		if prev, ok := last[body.LocationID]; ok && i <= prev {
			t.Errorf("%s: deal-%d sent after deal-%d", body.LocationID, i, prev)
		}
		last[body.LocationID] = i
		if req.Method != "POST" || req.Path != "/opportunities/upsert" {
			t.Errorf("request %s %s", req.Method, req.Path)
		}
	}
}

func TestUpsertAllStopsALocationWhoseDailyBudgetIsSpent(t *testing.T) {
	srv := startFake(t, leadwaytest.WithDailyLimit(5))
	client := fakeClient(t, srv)
	var sentA, notSentA, okB int
	for r := range client.UpsertAll(t.Context(), requests(16, "loc-a", "loc-a", "loc-a", "loc-b"), &leadway.BulkOptions{PerLocation: 1}) {
		var rl *leadway.RateLimitError
		switch {
		case r.Request.LocationId == "loc-b" && r.Err == nil:
			okB++
		case r.Request.LocationId == "loc-a" && r.Err == nil:
			sentA++
		case r.Request.LocationId == "loc-a" && errors.As(r.Err, &rl) && rl.Daily && errors.Is(r.Err, leadway.ErrNotSent):
			notSentA++
			if !strings.Contains(r.Err.Error(), "not sent") {
				t.Errorf("error text %q", r.Err)
			}
		case r.Request.LocationId == "loc-a" && errors.As(r.Err, &rl) && rl.Daily:
			// The 429 that told the budget was spent.
		default:
			t.Errorf("item %d (%s): %v", r.Index, r.Request.LocationId, r.Err)
		}
	}
	// loc-a has 12 requests: 5 within the budget, one refused with a 429,
	// 6 never sent. loc-b has 4 and a budget of its own.
	if sentA != 5 || notSentA != 6 || okB != 4 {
		t.Errorf("loc-a sent %d, not sent %d; loc-b ok %d", sentA, notSentA, okB)
	}
	if st := srv.Stats(); st.Requests != 10 {
		t.Errorf("the fake got %d requests, want 10", st.Requests)
	}
}

// spentLimiter refuses every call before sending, as a shared limiter does
// once the day's budget is gone.
type spentLimiter struct{}

func (spentLimiter) Wait(context.Context, string) error {
	return &leadway.RateLimitError{Daily: true, RetryAfter: 3 * time.Hour}
}
func (spentLimiter) Observe(string, leadway.RateLimit) {}

func TestUpsertAllStopsOnALimitersDailyRefusal(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv, leadway.WithRateLimiter(spentLimiter{}))
	n := 0
	for r := range client.UpsertAll(t.Context(), requests(5, "loc-a"), &leadway.BulkOptions{PerLocation: 1}) {
		n++
		var rl *leadway.RateLimitError
		if !errors.As(r.Err, &rl) || !rl.Daily || rl.RetryAfter != 3*time.Hour {
			t.Errorf("item %d: %v", r.Index, r.Err)
		}
		if r.Index > 0 && !errors.Is(r.Err, leadway.ErrNotSent) {
			t.Errorf("item %d: %v, want not sent", r.Index, r.Err)
		}
		if r.Index > 0 && r.Err.Error() != "leadway: not sent: daily budget used up; try again in 3h0m0s" {
			t.Errorf("item %d: %q", r.Index, r.Err)
		}
	}
	if n != 5 || srv.Stats().Requests != 0 {
		t.Errorf("%d results, %d requests", n, srv.Stats().Requests)
	}
}

func TestUpsertAllStopsWhenTheContextEnds(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var read atomic.Int64
	counted := func(yield func(leadway.UpsertRequest) bool) {
		for req := range requests(1_000_000, "loc-a", "loc-b") {
			read.Add(1)
			if !yield(req) {
				return
			}
		}
	}
	var done, notSent int
	seen := map[int]bool{}
	for r := range client.UpsertAll(ctx, counted, &leadway.BulkOptions{MaxPending: 8}) {
		if seen[r.Index] {
			t.Fatalf("item %d yielded twice", r.Index)
		}
		seen[r.Index] = true
		switch {
		case r.Err == nil:
			done++
			if done == 10 {
				cancel()
			}
		case errors.Is(r.Err, leadway.ErrNotSent) && errors.Is(r.Err, context.Canceled):
			notSent++
		case errors.Is(r.Err, context.Canceled):
			// In flight when the context ended.
		default:
			t.Errorf("item %d: %v", r.Index, r.Err)
		}
	}
	if int64(len(seen)) != read.Load() {
		t.Errorf("read %d requests, yielded %d results", read.Load(), len(seen))
	}
	if read.Load() > 10+8+1 {
		t.Errorf("read %d requests: more than the results plus MaxPending", read.Load())
	}
	// Calls in flight when the context ended may have been applied.
	if created := srv.Stats().Created; done < 10 || created < done || created > len(seen)-notSent {
		t.Errorf("%d done, %d not sent of %d, the fake created %d", done, notSent, len(seen), created)
	}
}

func TestUpsertAllBreakEndsEverything(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	n := 0
	for range client.UpsertAll(t.Context(), requests(1000, "loc-a", "loc-b", "loc-c"), nil) {
		n++
		if n == 3 {
			break
		}
	}
	// goleak in TestMain checks that no goroutine is left behind.
	if n != 3 {
		t.Errorf("%d results", n)
	}
}

func TestUpsertAllReportsEachItemsOwnError(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	reqs := slices.Values([]leadway.UpsertRequest{
		{PipelineId: "p", LocationId: "l", Name: leadway.Ptr("ok")},
		{LocationId: "l", Name: leadway.Ptr("no pipeline")},
		{PipelineId: "p", LocationId: "l", Name: leadway.Ptr("skipped")},
	})
	refuse := errors.New("journal full")
	before := func(i int, req leadway.UpsertRequest) error {
		if *req.Name == "skipped" {
			return refuse
		}
		return nil
	}
	got := map[int]error{}
	for r := range client.UpsertAll(t.Context(), reqs, &leadway.BulkOptions{PerLocation: 1, BeforeSend: before}) {
		got[r.Index] = r.Err
	}
	var invalid *leadway.ValidationError
	if got[0] != nil || !errors.As(got[1], &invalid) || invalid.Field != "pipelineId" || !errors.Is(got[2], refuse) {
		t.Errorf("errors = %v", got)
	}
	if st := srv.Stats(); st.Requests != 1 {
		t.Errorf("the fake got %d requests, want 1", st.Requests)
	}
}

func TestValidate(t *testing.T) {
	var invalid *leadway.ValidationError
	err := leadway.Validate(leadway.UpsertRequest{PipelineId: "p", LocationId: "l", Followers: []string{"a", ""}})
	if !errors.As(err, &invalid) || invalid.Field != "followers" || invalid.Reason != "ID at index 1 is empty" {
		t.Errorf("Validate = %v", err)
	}
	if err := leadway.Validate(leadway.UpsertRequest{PipelineId: "p", LocationId: "l"}); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

type itemKey struct{}

// keyTransport records the item key of each attempt that reaches it.
type keyTransport struct {
	mu   sync.Mutex
	keys []int
}

func (k *keyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	k.mu.Lock()
	k.keys = append(k.keys, req.Context().Value(itemKey{}).(int))
	k.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestUpsertAllItemContextReachesTheTransport(t *testing.T) {
	srv := startFake(t)
	kt := &keyTransport{}
	client := fakeClient(t, srv, leadway.WithHTTPClient(&http.Client{Transport: kt}))
	srv.FailNext(1, leadwaytest.Fault{Status: 503, Header: http.Header{"Retry-After": {"0"}}})
	opts := &leadway.BulkOptions{PerLocation: 1, ItemContext: func(ctx context.Context, i int) context.Context {
		return context.WithValue(ctx, itemKey{}, 100+i)
	}}
	for r := range client.UpsertAll(t.Context(), requests(3, "loc-a"), opts) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	// Item 0 is sent twice: the 503, then its retry.
	if got := fmt.Sprint(kt.keys); got != "[100 100 101 102]" {
		t.Errorf("keys = %s", got)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}
