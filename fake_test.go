package leadway_test

// The wrapper against leadwaytest's fake: the same contract on both sides of
// a real socket, so these tests check that client and server agree.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// startFake starts a fake that the test closes when it ends.
func startFake(t testing.TB, opts ...leadwaytest.Option) *leadwaytest.Server {
	t.Helper()
	srv := leadwaytest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// fakeClient returns srv.Client, which has the client's own rate limiter
// off, so that nothing waits unless a test asks for it.
func fakeClient(t testing.TB, srv *leadwaytest.Server, opts ...leadway.Option) *leadway.Client {
	t.Helper()
	c, err := srv.Client(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFakeUpsertCreatesThenUpdates(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	ctx := t.Context()

	req := minimal()
	req.Name = leadway.Ptr("Website redesign")
	req.PipelineStageId = leadway.Ptr("stage-1")
	req.MonetaryValue = leadway.Ptr(220.0)
	created, err := client.Upsert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !created.New || created.Opportunity.Id == "" || created.Opportunity.Status != "open" {
		t.Fatalf("created = %+v", *created)
	}
	if rl := created.RateLimit; rl.Max != 100 || rl.Remaining != 99 || rl.Interval != 10*time.Second || rl.DailyLimit != 200000 || rl.DailyRemaining != 199999 {
		t.Errorf("rate limit = %+v", rl)
	}

	updated, err := client.Upsert(ctx, leadway.UpsertRequest{
		Id:              leadway.Ptr(created.Opportunity.Id),
		PipelineId:      "pipe-1",
		LocationId:      "loc-1",
		PipelineStageId: leadway.Ptr("stage-2"),
		MonetaryValue:   leadway.Ptr(1500.5),
	})
	if err != nil {
		t.Fatal(err)
	}
	o := updated.Opportunity
	if updated.New || o.Id != created.Opportunity.Id || o.Name != "Website redesign" ||
		o.PipelineStageId != "stage-2" || o.MonetaryValue != 1500.5 || o.CreatedAt != created.Opportunity.CreatedAt {
		t.Errorf("updated = %+v", *updated)
	}
	if stored := srv.Opportunities(); len(stored) != 1 || !reflect.DeepEqual(stored[0], o) {
		t.Errorf("stored %+v, answered %+v", stored, o)
	}

	// What went over the wire: the documented headers and the wrapper's
	// no-op follower defaults.
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Header.Get("Authorization") != "Bearer "+srv.Token || r.Header.Get("Version") != leadway.APIVersion ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.Header)
	}
	want := `{"followers":[],"followersActionType":"add","isRemoveAllFollowers":false,"locationId":"loc-1","monetaryValue":220,"name":"Website redesign","pipelineId":"pipe-1","pipelineStageId":"stage-1"}`
	if string(r.Body) != want {
		t.Errorf("body\n got %s\nwant %s", r.Body, want)
	}
}

func TestFakeFollowersThroughTheWrapper(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	steps := []struct {
		name      string
		followers []string
		action    leadway.FollowersAction
		removeAll bool
		want      []string
	}{
		{"add", []string{"u1", "u2", "u3"}, leadway.FollowersAdd, false, []string{"u1", "u2", "u3"}},
		{"defaults leave followers alone", nil, "", false, []string{"u1", "u2", "u3"}},
		{"remove", []string{"u2"}, leadway.FollowersRemove, false, []string{"u1", "u3"}},
		{"remove all", nil, "", true, []string{}},
		{"remove all, then add", []string{"u4"}, leadway.FollowersAdd, true, []string{"u4"}},
	}
	for _, s := range steps {
		req := minimal()
		req.Id = leadway.Ptr("opp-followers")
		req.Followers, req.FollowersActionType, req.IsRemoveAllFollowers = s.followers, s.action, s.removeAll
		res, err := client.Upsert(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := res.Opportunity.Followers; !slices.Equal(got, s.want) {
			t.Errorf("%s: followers = %q, want %q", s.name, got, s.want)
		}
	}
}

// addProperty adds a property the contract does not know to every JSON
// body, as an outdated client would, to reach the fake's own 422.
type addProperty struct{ base http.RoundTripper }

func (a addProperty) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	body = bytes.Replace(body, []byte("{"), []byte(`{"gender":"female",`), 1)
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return a.base.RoundTrip(r)
}

func TestFakeErrorsSurfaceAsAPIError(t *testing.T) {
	srv := startFake(t)
	tests := []struct {
		name     string
		token    string // instead of the fake's
		opts     []leadway.Option
		fault    *leadwaytest.Fault
		status   int
		messages []string
	}{
		{
			name:     "the fake's 422",
			opts:     []leadway.Option{leadway.WithHTTPClient(&http.Client{Transport: addProperty{http.DefaultTransport}})},
			status:   422,
			messages: []string{"property gender should not exist"},
		},
		{
			name: "the vendor's documented 422",
			fault: &leadwaytest.Fault{Status: 422,
				Body: []byte(`{"message":["property gender should not exist","name must be a string"],"error":"Unprocessable Entity","statusCode":422}`)},
			status:   422,
			messages: []string{"property gender should not exist", "name must be a string"},
		},
		{
			name:     "wrong token",
			token:    "not-the-fake-token",
			status:   401,
			messages: []string{"Invalid token"},
		},
		{
			name:     "wrong Version",
			opts:     []leadway.Option{leadway.WithAPIVersion("2023-02-21")},
			status:   400,
			messages: []string{"Version header must be 2021-07-28"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fakeClient(t, srv, tt.opts...)
			if tt.token != "" {
				var err error
				client, err = leadway.New(tt.token, leadway.WithBaseURL(srv.URL), leadway.WithoutRateLimiter())
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.fault != nil {
				srv.FailNext(1, *tt.fault)
			}
			_, err := client.Upsert(t.Context(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if apiErr.StatusCode != tt.status || !reflect.DeepEqual(apiErr.Messages, tt.messages) || apiErr.Attempts != 1 {
				t.Errorf("got %d %q after %d attempts, want %d %q", apiErr.StatusCode, apiErr.Messages, apiErr.Attempts, tt.status, tt.messages)
			}
			if apiErr.RateLimit.Max != 100 {
				t.Errorf("rate limit = %+v, want the fake's figures", apiErr.RateLimit)
			}
			if strings.Contains(err.Error(), srv.Token) {
				t.Error("error contains the token")
			}
		})
	}
	if n := len(srv.Opportunities()); n != 0 {
		t.Errorf("%d opportunities stored by refused calls", n)
	}
}

func TestFakeRateLimitSurfacesAsRateLimitError(t *testing.T) {
	t.Run("burst", func(t *testing.T) {
		srv := startFake(t, leadwaytest.WithRateLimit(1, time.Hour))
		client := fakeClient(t, srv, leadway.WithMaxRetries(0))
		if _, err := client.Upsert(t.Context(), minimal()); err != nil {
			t.Fatal(err)
		}
		_, err := client.Upsert(t.Context(), minimal())
		var rlErr *leadway.RateLimitError
		if !errors.As(err, &rlErr) {
			t.Fatalf("err = %v, want *RateLimitError", err)
		}
		if rlErr.Daily || rlErr.RetryAfter != time.Hour || rlErr.APIError.StatusCode != 429 || rlErr.RateLimit.Remaining != 0 || rlErr.RateLimit.Max != 1 {
			t.Errorf("got %+v with %+v", rlErr, rlErr.RateLimit)
		}
		// Another location has its own budget.
		other := minimal()
		other.LocationId = "loc-2"
		if _, err := client.Upsert(t.Context(), other); err != nil {
			t.Errorf("other location: %v", err)
		}
	})
	t.Run("daily budget is not retried", func(t *testing.T) {
		srv := startFake(t, leadwaytest.WithDailyLimit(1))
		client := fakeClient(t, srv) // retries on
		if _, err := client.Upsert(t.Context(), minimal()); err != nil {
			t.Fatal(err)
		}
		_, err := client.Upsert(t.Context(), minimal())
		var rlErr *leadway.RateLimitError
		if !errors.As(err, &rlErr) || !rlErr.Daily || rlErr.Attempts != 1 {
			t.Fatalf("err = %v, want a daily *RateLimitError after one attempt", err)
		}
		if st := srv.Stats(); st.RateLimited != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("burst is retried after the announced window", func(t *testing.T) {
		// The fake's clock moves past the window when its 429 goes by, so
		// the retry lands in a fresh window however slow the machine is.
		var mu sync.Mutex
		now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		srv := startFake(t, leadwaytest.WithRateLimit(1, 20*time.Millisecond), leadwaytest.WithClock(clock))
		tick := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil && resp.StatusCode == http.StatusTooManyRequests {
				mu.Lock()
				now = now.Add(20 * time.Millisecond)
				mu.Unlock()
			}
			return resp, err
		})
		client := fakeClient(t, srv, leadway.WithHTTPClient(&http.Client{Transport: tick}))
		for range 2 {
			if _, err := client.Upsert(t.Context(), minimal()); err != nil {
				t.Fatal(err)
			}
		}
		if st := srv.Stats(); st.Requests != 3 || st.Created != 2 || st.RateLimited != 1 {
			t.Errorf("stats = %+v, want 3 requests: 2 creates and the 429 between them", st)
		}
	})
}

func TestFakeFaultsThroughTheWrapper(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv)
	withID := minimal()
	withID.Id = leadway.Ptr("opp-faults")

	tests := []struct {
		name   string
		fault  leadwaytest.Fault
		req    leadway.UpsertRequest
		check  func(error) bool
		stored bool
	}{
		{"500 on a create is an unknown outcome", leadwaytest.Fault{Status: 500}, minimal(),
			func(err error) bool { var e *leadway.UnknownOutcomeError; return errors.As(err, &e) }, false},
		{"reset after applying a create", leadwaytest.Fault{Reset: true, Apply: true}, minimal(),
			func(err error) bool { var e *leadway.UnknownOutcomeError; return errors.As(err, &e) }, true},
		{"truncated answer to a create", leadwaytest.Fault{Truncate: true}, minimal(),
			func(err error) bool { var e *leadway.UnknownOutcomeError; return errors.As(err, &e) }, true},
		{"200 that is not JSON", leadwaytest.Fault{Status: 200, Body: []byte("<html>ok</html>")}, minimal(),
			func(err error) bool { var e *leadway.ResponseError; return errors.As(err, &e) }, false},
		{"503 with Retry-After 0 is retried", leadwaytest.Fault{Status: 503, Header: http.Header{"Retry-After": {"0"}}}, withID,
			func(err error) bool { return err == nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Opportunities())
			srv.FailNext(1, tt.fault)
			_, err := client.Upsert(t.Context(), tt.req)
			if !tt.check(err) {
				t.Errorf("err = %v (%T)", err, err)
			}
			if stored := len(srv.Opportunities()) > before; stored != tt.stored {
				t.Errorf("stored = %t, want %t", stored, tt.stored)
			}
		})
	}
}

func TestFakeContextEndsADelayedCall(t *testing.T) {
	srv := startFake(t)
	client := fakeClient(t, srv, leadway.WithMaxRetries(0))
	srv.FailNext(1, leadwaytest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := client.Upsert(ctx, minimal())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
}

// BenchmarkFakeUpsert measures a round trip through the wrapper and the
// fake, and reports how many calls the fake rate limited.
func BenchmarkFakeUpsert(b *testing.B) {
	srv := startFake(b, leadwaytest.WithRateLimit(leadway.MaxBurstFigure, time.Second))
	client := fakeClient(b, srv)
	req := minimal()
	req.Id = leadway.Ptr("opp-bench")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.Upsert(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(srv.Stats().RateLimited)/float64(b.N), "429s/op")
}
