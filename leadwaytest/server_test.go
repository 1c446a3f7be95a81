package leadwaytest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

const upsertPath = "/opportunities/upsert"

// minimalBody is the smallest body the contract accepts.
const minimalBody = `{"pipelineId":"pipe-1","locationId":"loc-1","followers":[],"isRemoveAllFollowers":false,"followersActionType":"add"}`

// answer is what the fake sent back.
type answer struct {
	status int
	header http.Header
	body   string
}

// send posts body to the fake with the headers a correct client sends;
// header overrides them, and an empty value removes one.
func send(t *testing.T, srv *leadwaytest.Server, method, path, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// upsert posts body to the upsert endpoint as a correct client would.
func upsert(t *testing.T, srv *leadwaytest.Server, body string) answer {
	t.Helper()
	return send(t, srv, http.MethodPost, upsertPath, body, nil)
}

// assertJSON compares JSON documents by value, so key order is free.
func assertJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad test: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body:\n got %s\nwant %s", got, want)
	}
}

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestFakeRefusesWhatTheContractRefuses(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithToken("right-token"))
	defer srv.Close()
	with := func(field string) string { // minimalBody plus one property
		return strings.TrimSuffix(minimalBody, "}") + "," + field + "}"
	}
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{
			name:   "missing token",
			header: map[string]string{"Authorization": ""},
			body:   minimalBody,
			status: 401,
			want:   `{"statusCode":401,"message":"Missing Bearer token","error":"Unauthorized"}`,
		},
		{
			name:   "not a bearer token",
			header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			body:   minimalBody,
			status: 401,
			want:   `{"statusCode":401,"message":"Missing Bearer token","error":"Unauthorized"}`,
		},
		{
			name:   "wrong token",
			header: map[string]string{"Authorization": "Bearer wrong-token"},
			body:   minimalBody,
			status: 401,
			want:   `{"statusCode":401,"message":"Invalid token","error":"Unauthorized"}`,
		},
		{
			name:   "wrong token is checked before the body",
			header: map[string]string{"Authorization": "Bearer wrong-token", "Version": ""},
			body:   `{"gender":"m"}`,
			status: 401,
			want:   `{"statusCode":401,"message":"Invalid token","error":"Unauthorized"}`,
		},
		{
			name:   "missing Version",
			header: map[string]string{"Version": ""},
			body:   minimalBody,
			status: 400,
			want:   `{"statusCode":400,"message":"Version header is required"}`,
		},
		{
			name:   "wrong Version, as the vendor's Node SDK sends",
			header: map[string]string{"Version": "2023-02-21"},
			body:   minimalBody,
			status: 400,
			want:   `{"statusCode":400,"message":"Version header must be 2021-07-28"}`,
		},
		{
			name:   "Version is checked before the body",
			header: map[string]string{"Version": "2023-02-21"},
			body:   `{"gender":"m"}`,
			status: 400,
			want:   `{"statusCode":400,"message":"Version header must be 2021-07-28"}`,
		},
		{
			name:   "not JSON",
			body:   `{"pipelineId":`,
			status: 400,
			want:   `{"statusCode":400,"message":"Request body is not valid JSON: unexpected EOF"}`,
		},
		{
			name:   "no body",
			body:   "",
			status: 400,
			want:   `{"statusCode":400,"message":"Request body is required"}`,
		},
		{
			name:   "not a JSON content type",
			header: map[string]string{"Content-Type": "text/plain"},
			body:   minimalBody,
			status: 400,
			want:   `{"statusCode":400,"message":"Content-Type must be application/json"}`,
		},
		{
			name:   "bad status enum",
			body:   with(`"status":"closed"`),
			status: 422,
			want:   `{"statusCode":422,"error":"Unprocessable Entity","message":["status must be one of the following values: open, won, lost, abandoned, all"]}`,
		},
		{
			name:   "bad followersActionType enum",
			body:   strings.Replace(minimalBody, `"add"`, `"replace"`, 1),
			status: 422,
			want:   `{"statusCode":422,"error":"Unprocessable Entity","message":["followersActionType must be one of the following values: add, remove"]}`,
		},
		{
			name:   "missing pipelineId",
			body:   strings.Replace(minimalBody, `"pipelineId":"pipe-1",`, "", 1),
			status: 422,
			want:   `{"statusCode":422,"error":"Unprocessable Entity","message":["pipelineId must be a string"]}`,
		},
		{
			name:   "unknown property",
			body:   with(`"gender":"female"`),
			status: 422,
			want:   `{"statusCode":422,"error":"Unprocessable Entity","message":["property gender should not exist"]}`,
		},
		{
			name:   "too many followers",
			body:   strings.Replace(minimalBody, `"followers":[]`, `"followers":["1","2","3","4","5","6","7","8","9","10","11"]`, 1),
			status: 422,
			want:   `{"statusCode":422,"error":"Unprocessable Entity","message":["followers must contain no more than 10 elements"]}`,
		},
		{
			name:   "every problem is listed",
			body:   `{"pipelineId":7,"locationId":"loc-1","followers":["a",2],"isRemoveAllFollowers":"yes","followersActionType":"add","monetaryValue":"220"}`,
			status: 422,
			want: `{"statusCode":422,"error":"Unprocessable Entity","message":[
				"each value in followers must be a string",
				"isRemoveAllFollowers must be a boolean value",
				"monetaryValue must be a number conforming to the specified constraints",
				"pipelineId must be a string"]}`,
		},
		{
			name:   "empty ids, which the Go client refuses too",
			body:   `{"id":"","pipelineId":"","locationId":"","followers":[""],"isRemoveAllFollowers":false,"followersActionType":"add"}`,
			status: 422,
			want: `{"statusCode":422,"error":"Unprocessable Entity","message":[
				"each value in followers should not be empty",
				"id should not be empty",
				"locationId should not be empty",
				"pipelineId should not be empty"]}`,
		},
		{
			name:   "not an object",
			body:   `["pipe-1"]`,
			status: 422,
			want:   `{"statusCode":422,"error":"Unprocessable Entity","message":["request body must be a JSON object"]}`,
		},
		{
			name:   "another method",
			method: http.MethodGet,
			status: 404,
			want:   `{"statusCode":404,"message":"Cannot GET /opportunities/upsert","error":"Not Found"}`,
		},
		{
			name:   "another path",
			path:   "/contacts/upsert",
			body:   minimalBody,
			status: 404,
			want:   `{"statusCode":404,"message":"Cannot POST /contacts/upsert","error":"Not Found"}`,
		},
		{
			name:   "body over 1 MiB",
			body:   with(`"name":"` + strings.Repeat("x", 1<<20) + `"`),
			status: 413,
			want:   `{"statusCode":413,"message":"Request entity too large"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := orDefault(tt.method, http.MethodPost), orDefault(tt.path, upsertPath)
			got := send(t, srv, method, path, tt.body, tt.header)
			if got.status != tt.status {
				t.Errorf("status = %d, want %d", got.status, tt.status)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			assertJSON(t, got.body, tt.want)
			for _, h := range rateLimitHeaders {
				if got.header.Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
		})
	}
	if got := len(srv.Opportunities()); got != 0 {
		t.Errorf("refused requests stored %d opportunities", got)
	}
	if st := srv.Stats(); st.Rejected != len(tests) || st.Requests != len(tests) {
		t.Errorf("stats = %+v, want %d rejected of %d requests", st, len(tests), len(tests))
	}
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

var rateLimitHeaders = []string{
	"X-RateLimit-Limit-Daily",
	"X-RateLimit-Daily-Remaining",
	"X-RateLimit-Interval-Milliseconds",
	"X-RateLimit-Max",
	"X-RateLimit-Remaining",
}

func TestFakeCreatesThenUpdates(t *testing.T) {
	clk := newClock()
	srv := leadwaytest.NewServer(leadwaytest.WithClock(clk.Now))
	defer srv.Close()

	created := upsert(t, srv, `{"pipelineId":"pipe-1","locationId":"loc-1","name":"Website redesign",
		"pipelineStageId":"stage-1","monetaryValue":220,"assignedTo":"user-1","contactId":"contact-1",
		"followers":["user-2"],"isRemoveAllFollowers":false,"followersActionType":"add"}`)
	if created.status != 200 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	assertJSON(t, created.body, `{"new":true,"opportunity":{
		"id":"opp00000000000000001","name":"Website redesign","monetaryValue":220,
		"pipelineId":"pipe-1","pipelineStageId":"stage-1","assignedTo":"user-1","status":"open",
		"source":"api","contactId":"contact-1","locationId":"loc-1","followers":["user-2"],
		"createdAt":"2026-05-01T09:30:00.000Z","updatedAt":"2026-05-01T09:30:00.000Z",
		"lastStatusChangeAt":"2026-05-01T09:30:00.000Z","lastStageChangeAt":"2026-05-01T09:30:00.000Z",
		"lastActionDate":"2026-05-01T09:30:00.000Z"}}`)

	clk.Advance(90 * time.Second)
	updated := upsert(t, srv, `{"id":"opp00000000000000001","pipelineId":"pipe-1","locationId":"loc-1",
		"pipelineStageId":"stage-2","monetaryValue":1500.5,
		"followers":[],"isRemoveAllFollowers":false,"followersActionType":"add"}`)
	if updated.status != 200 {
		t.Fatalf("update: %d %s", updated.status, updated.body)
	}
	// Fields left out are kept; the stage moved, the status did not.
	assertJSON(t, updated.body, `{"new":false,"opportunity":{
		"id":"opp00000000000000001","name":"Website redesign","monetaryValue":1500.5,
		"pipelineId":"pipe-1","pipelineStageId":"stage-2","assignedTo":"user-1","status":"open",
		"source":"api","contactId":"contact-1","locationId":"loc-1","followers":["user-2"],
		"createdAt":"2026-05-01T09:30:00.000Z","updatedAt":"2026-05-01T09:31:30.000Z",
		"lastStatusChangeAt":"2026-05-01T09:30:00.000Z","lastStageChangeAt":"2026-05-01T09:31:30.000Z",
		"lastActionDate":"2026-05-01T09:31:30.000Z"}}`)

	all := srv.Opportunities()
	if len(all) != 1 || all[0].PipelineStageId != "stage-2" || all[0].MonetaryValue != 1500.5 {
		t.Errorf("stored: %+v", all)
	}
	if st := srv.Stats(); st.Created != 1 || st.Updated != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFakeAssignsSequentialIDs(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	for i := 1; i <= 3; i++ {
		upsert(t, srv, minimalBody)
	}
	var ids []string
	for _, o := range srv.Opportunities() {
		ids = append(ids, o.Id)
	}
	want := []string{"opp00000000000000001", "opp00000000000000002", "opp00000000000000003"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

func TestFakeUnknownIDCreatesIt(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	body := strings.Replace(minimalBody, "{", `{"id":"my-id",`, 1)
	first := upsert(t, srv, body)
	again := upsert(t, srv, body)
	if !strings.Contains(first.body, `"new":true`) || !strings.Contains(again.body, `"new":false`) {
		t.Errorf("first %s, again %s", first.body, again.body)
	}
	if _, ok := srv.Opportunity("my-id"); !ok {
		t.Error("my-id is not stored")
	}
	if _, ok := srv.Opportunity("other"); ok {
		t.Error("Opportunity found an id never sent")
	}
}

func TestFakeRefusesAnotherLocationsID(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	upsert(t, srv, minimalBody)
	got := upsert(t, srv, strings.Replace(minimalBody, `"locationId":"loc-1"`, `"id":"opp00000000000000001","locationId":"loc-2"`, 1))
	if got.status != 400 {
		t.Fatalf("status = %d", got.status)
	}
	assertJSON(t, got.body, `{"statusCode":400,"message":"Opportunity opp00000000000000001 belongs to another location"}`)
}

func TestFakeFollowers(t *testing.T) {
	type step struct {
		followers string // JSON array
		action    string
		removeAll bool
		want      []string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"add keeps order and skips duplicates", []step{
			{`["a","b"]`, "add", false, []string{"a", "b"}},
			{`["b","c","c"]`, "add", false, []string{"a", "b", "c"}},
		}},
		{"empty add changes nothing", []step{
			{`["a"]`, "add", false, []string{"a"}},
			{`[]`, "add", false, []string{"a"}},
		}},
		{"remove drops listed ids and ignores others", []step{
			{`["a","b","c"]`, "add", false, []string{"a", "b", "c"}},
			{`["b","zz"]`, "remove", false, []string{"a", "c"}},
		}},
		{"remove all", []step{
			{`["a","b"]`, "add", false, []string{"a", "b"}},
			{`[]`, "add", true, []string{}},
		}},
		{"remove all, then add", []step{
			{`["a","b"]`, "add", false, []string{"a", "b"}},
			{`["c"]`, "add", true, []string{"c"}},
		}},
		{"remove all, then remove", []step{
			{`["a","b"]`, "add", false, []string{"a", "b"}},
			{`["a"]`, "remove", true, []string{}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := leadwaytest.NewServer()
			defer srv.Close()
			for i, s := range tt.steps {
				body := fmt.Sprintf(`{"id":"opp-1","pipelineId":"p","locationId":"l","followers":%s,"isRemoveAllFollowers":%t,"followersActionType":%q}`,
					s.followers, s.removeAll, s.action)
				got := upsert(t, srv, body)
				var res struct {
					Opportunity struct{ Followers []string }
				}
				if err := json.Unmarshal([]byte(got.body), &res); err != nil || got.status != 200 {
					t.Fatalf("step %d: %d %s", i, got.status, got.body)
				}
				// No followers may be sent as [] or left out; both decode to none.
				if !slices.Equal(res.Opportunity.Followers, s.want) {
					t.Errorf("step %d: followers = %q, want %q", i, res.Opportunity.Followers, s.want)
				}
			}
		})
	}
}

func TestFakeRateLimit(t *testing.T) {
	clk := newClock()
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(2, time.Minute), leadwaytest.WithClock(clk.Now))
	defer srv.Close()
	other := strings.Replace(minimalBody, "loc-1", "loc-2", 1)

	check := func(a answer, status int, remaining, dailyRemaining string) {
		t.Helper()
		if a.status != status {
			t.Errorf("status = %d, want %d (%s)", a.status, status, a.body)
		}
		want := map[string]string{
			"X-RateLimit-Max":                   "2",
			"X-RateLimit-Remaining":             remaining,
			"X-RateLimit-Interval-Milliseconds": "60000",
			"X-RateLimit-Limit-Daily":           "200000",
			"X-RateLimit-Daily-Remaining":       dailyRemaining,
		}
		for k, v := range want {
			if got := a.header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	}
	check(upsert(t, srv, minimalBody), 200, "1", "199999")
	check(upsert(t, srv, minimalBody), 200, "0", "199998")
	limited := upsert(t, srv, minimalBody)
	check(limited, 429, "0", "199998")
	// The contract's TooManyRequestsError, so that clients generated from
	// the spec read the 429 as an error with a body.
	if want := `{"error":"Too Many Requests","message":"Too Many Requests","statusCode":429}` + "\n"; limited.body != want {
		t.Errorf("429 body = %q, want %q", limited.body, want)
	}
	if ct := limited.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("429 Content-Type = %q, want application/json", ct)
	}
	// Refused requests use the budget too: this one is rate limited
	// before its token is looked at.
	check(send(t, srv, http.MethodPost, upsertPath, minimalBody, map[string]string{"Authorization": ""}), 429, "0", "199998")
	// Budgets are per location.
	check(upsert(t, srv, other), 200, "1", "199999")

	clk.Advance(time.Minute)
	check(upsert(t, srv, minimalBody), 200, "1", "199997")

	if st := srv.Stats(); st.RateLimited != 2 || st.Requests != 6 {
		t.Errorf("stats = %+v, want 2 rate limited of 6", st)
	}
}

func TestFakeDailyLimit(t *testing.T) {
	clk := newClock()
	srv := leadwaytest.NewServer(leadwaytest.WithDailyLimit(2), leadwaytest.WithClock(clk.Now))
	defer srv.Close()
	upsert(t, srv, minimalBody)
	upsert(t, srv, minimalBody)
	clk.Advance(time.Hour) // a new burst window, the same day
	got := upsert(t, srv, minimalBody)
	if got.status != 429 || got.header.Get("X-RateLimit-Daily-Remaining") != "0" || got.header.Get("X-RateLimit-Remaining") != "100" {
		t.Errorf("got %d with headers %v", got.status, got.header)
	}
	clk.Advance(24 * time.Hour)
	if got := upsert(t, srv, minimalBody); got.status != 200 || got.header.Get("X-RateLimit-Daily-Remaining") != "1" {
		t.Errorf("next day: %d with headers %v", got.status, got.header)
	}
}

func TestFakeRecordsRequests(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	upsert(t, srv, minimalBody)
	send(t, srv, http.MethodGet, "/nowhere", "", map[string]string{"Authorization": "Bearer other"})

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != upsertPath || string(r.Body) != minimalBody ||
		r.Header.Get("Authorization") != "Bearer "+srv.Token || r.Header.Get("Version") != "2021-07-28" {
		t.Errorf("first request: %+v", r)
	}
	if reqs[1].Method != "GET" || reqs[1].Path != "/nowhere" || len(reqs[1].Body) != 0 {
		t.Errorf("second request: %+v", reqs[1])
	}
	// What Requests returned is a copy.
	reqs[0].Header.Set("Version", "changed")
	if srv.Requests()[0].Header.Get("Version") != "2021-07-28" {
		t.Error("Requests shares headers with the fake")
	}
}

func TestFakeIsSafeForConcurrentUse(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(1000, time.Hour))
	defer srv.Close()
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := minimalBody
			if i%2 == 1 { // half update one opportunity, half create
				body = strings.Replace(minimalBody, "{", `{"id":"shared","followers":["u`+fmt.Sprint(i)+`"],`, 1)
				body = strings.Replace(body, `"followers":[],`, "", 1)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+upsertPath, bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			req.Header.Set("Version", "2021-07-28")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
			_ = srv.Opportunities()
			_ = srv.Requests()
		})
	}
	wg.Wait()
	st := srv.Stats()
	if st.Created != n/2+1 || st.Updated != n/2-1 || len(srv.Opportunities()) != n/2+1 {
		t.Errorf("stats = %+v", st)
	}
	shared, _ := srv.Opportunity("shared")
	if len(shared.Followers) != n/2 {
		t.Errorf("shared has %d followers, want %d", len(shared.Followers), n/2)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	tests := map[string]leadwaytest.Option{
		"empty token":        leadwaytest.WithToken(""),
		"token with a space": leadwaytest.WithToken(" tok"),
		"zero max":           leadwaytest.WithRateLimit(0, time.Second),
		"zero interval":      leadwaytest.WithRateLimit(1, 0),
		"zero daily":         leadwaytest.WithDailyLimit(0),
		"nil clock":          leadwaytest.WithClock(nil),
		"nil logger":         leadwaytest.WithLogger(nil),
		"empty address":      leadwaytest.WithAddr(""),
		"bad address":        leadwaytest.WithAddr("not an address"),
	}
	for name, opt := range tests {
		t.Run(name, func(t *testing.T) {
			srv, err := leadwaytest.Start(opt)
			if err == nil {
				srv.Close()
				t.Fatal("no error")
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("NewServer did not panic on a bad option")
		}
	}()
	leadwaytest.NewServer(leadwaytest.WithToken(""))
}

func TestServerURLAndToken(t *testing.T) {
	srv := leadwaytest.NewServer(leadwaytest.WithAddr(":0"), leadwaytest.WithToken("tok-1"))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want loopback for a wildcard address", srv.URL)
	}
	if srv.Token != "tok-1" {
		t.Errorf("Token = %q", srv.Token)
	}
	if other := leadwaytest.NewServer(); other.Token == "" || other.Token == srv.Token {
		t.Errorf("default token %q", other.Token)
	} else {
		other.Close()
	}
	srv.Close()
	srv.Close() // a second Close does nothing
}

// TestFakeRefusesWhatTheClientRefuses sends each request the Go client turns
// down before sending straight to the fake, which must answer 422 naming the
// same field: a team testing another language against the fake meets the
// same contract as a Go caller.
func TestFakeRefusesWhatTheClientRefuses(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client, err := srv.Client(leadway.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	valid := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1", Followers: []string{}, FollowersActionType: leadway.FollowersAdd}
	tests := map[string]func(r *leadway.UpsertRequest){
		"pipelineId": func(r *leadway.UpsertRequest) { r.PipelineId = "" },
		"locationId": func(r *leadway.UpsertRequest) { r.LocationId = "" },
		"id":         func(r *leadway.UpsertRequest) { r.Id = leadway.Ptr("") },
		"followers":  func(r *leadway.UpsertRequest) { r.Followers = []string{"u1", ""} },
	}
	for field, spoil := range tests {
		t.Run(field, func(t *testing.T) {
			req := valid
			spoil(&req)
			_, err := client.Upsert(t.Context(), req)
			var ve *leadway.ValidationError
			if !errors.As(err, &ve) || ve.Field != field {
				t.Fatalf("client: err = %v, want a *ValidationError for %s", err, field)
			}
			body, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			got := upsert(t, srv, string(body))
			var refusal struct{ Message []string }
			if err := json.Unmarshal([]byte(got.body), &refusal); err != nil || got.status != 422 {
				t.Fatalf("fake: %d %s, want 422", got.status, got.body)
			}
			want := field + " should not be empty"
			if field == "followers" {
				want = "each value in followers should not be empty"
			}
			if !slices.Equal(refusal.Message, []string{want}) {
				t.Errorf("fake: message = %q, want [%q]", refusal.Message, want)
			}
		})
	}
	if n := len(srv.Opportunities()); n != 0 {
		t.Errorf("the fake stored %d opportunities from refused requests", n)
	}
}
