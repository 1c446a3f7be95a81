package leadway_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/leadwaycrm/leadway"
)

const testToken = "pit-4f1c9e2a-secret"

// recorded is what the test server saw of one request.
type recorded struct {
	method, path string
	header       http.Header
	body         string
}

// setup starts a server that records each request and answers with h, and
// a client pointed at it. go-github's setup is the model.
func setup(t *testing.T, h http.HandlerFunc, opts ...leadway.Option) (*leadway.Client, *[]recorded, *atomic.Int32) {
	t.Helper()
	var reqs []recorded
	var hits atomic.Int32
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(body)})
		mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := leadway.New(testToken, append([]leadway.Option{leadway.WithBaseURL(srv.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, &reqs, &hits
}

func reply(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const createdJSON = `{"new":true,"opportunity":{"id":"opp-1","name":"Website redesign","monetaryValue":220,"pipelineId":"pipe-1","pipelineStageId":"stage-1","status":"open","locationId":"loc-1","followers":[],"indexVersion":3,"somethingNew":{"x":1}}}`

func minimal() leadway.UpsertRequest {
	return leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1"}
}

func TestUpsertSendsTheDocumentedRequest(t *testing.T) {
	c, reqs, _ := setup(t, reply(200, "application/json", createdJSON))
	req := minimal()
	req.Name = leadway.Ptr("Website redesign")
	req.MonetaryValue = leadway.Ptr(220.0)
	if _, err := c.Upsert(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if len(*reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(*reqs))
	}
	got := (*reqs)[0]
	if got.method != http.MethodPost || got.path != "/opportunities/upsert" {
		t.Errorf("request line = %s %s, want POST /opportunities/upsert", got.method, got.path)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer " + testToken,
		"Version":       "2021-07-28",
		"Content-Type":  "application/json",
		"User-Agent":    "leadway-go/" + leadway.LibraryVersion,
	} {
		if v := got.header.Values(k); len(v) != 1 || v[0] != want {
			t.Errorf("header %s = %q, want exactly [%q]", k, v, want)
		}
	}
	// followers is [] (not null), the other follower fields are their no-op
	// defaults, omitted optionals are absent and 220 is a JSON number.
	want := `{"followers":[],"followersActionType":"add","isRemoveAllFollowers":false,"locationId":"loc-1","monetaryValue":220,"name":"Website redesign","pipelineId":"pipe-1"}`
	if got.body != want {
		t.Errorf("body =\n%s\nwant\n%s", got.body, want)
	}
	if req.Followers != nil || req.FollowersActionType != "" {
		t.Error("Upsert changed the caller's request")
	}
}

func TestUpsertSendsEveryField(t *testing.T) {
	c, reqs, _ := setup(t, reply(200, "application/json", createdJSON))
	req := leadway.UpsertRequest{
		Id:                   leadway.Ptr("opp-1"),
		PipelineId:           "pipe-1",
		LocationId:           "loc-1",
		ContactId:            leadway.Ptr("contact-1"),
		Followers:            []string{"user-1", "user-2"},
		IsRemoveAllFollowers: false,
		FollowersActionType:  leadway.FollowersRemove,
		Name:                 leadway.Ptr("Deal"),
		Status:               leadway.Ptr(leadway.StatusWon),
		PipelineStageId:      leadway.Ptr("stage-2"),
		MonetaryValue:        leadway.Ptr(1500.25),
		AssignedTo:           leadway.Ptr("user-3"),
		LostReasonId:         leadway.Ptr("reason-1"),
	}
	if _, err := c.Upsert(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	want := `{"assignedTo":"user-3","contactId":"contact-1","followers":["user-1","user-2"],"followersActionType":"remove","id":"opp-1","isRemoveAllFollowers":false,"locationId":"loc-1","lostReasonId":"reason-1","monetaryValue":1500.25,"name":"Deal","pipelineId":"pipe-1","pipelineStageId":"stage-2","status":"won"}`
	if got := (*reqs)[0].body; got != want {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
}

func TestUpsertResult(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantNew    bool
	}{
		{"created", createdJSON, true},
		{"updated", `{"new":false,"opportunity":{"id":"opp-1","monetaryValue":99.5,"contact":{"id":"c-1","name":"Jane","tags":["vip"]},"customFields":[{"id":"f-1","fieldValue":["a","b"]}]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Max", "100")
				w.Header().Set("X-RateLimit-Remaining", "97")
				w.Header().Set("X-RateLimit-Interval-Milliseconds", "10000")
				w.Header().Set("X-RateLimit-Limit-Daily", "200000")
				w.Header().Set("X-RateLimit-Daily-Remaining", "199990")
				reply(200, "application/json; charset=utf-8", tc.body)(w, r)
			})
			res, err := c.Upsert(context.Background(), minimal())
			if err != nil {
				t.Fatal(err)
			}
			if res.New != tc.wantNew || res.Opportunity.Id != "opp-1" {
				t.Errorf("result = new %v id %v, want new %v id opp-1", res.New, res.Opportunity.Id, tc.wantNew)
			}
			wantRL := leadway.RateLimit{DailyLimit: 200000, DailyRemaining: 199990, Interval: 10e9, Max: 100, Remaining: 97, RetryAfter: -1}
			if res.RateLimit != wantRL {
				t.Errorf("RateLimit = %+v, want %+v", res.RateLimit, wantRL)
			}
			if !tc.wantNew {
				o := res.Opportunity
				if o.MonetaryValue != 99.5 || o.Contact == nil || o.Contact.Name != "Jane" || !reflect.DeepEqual(o.Contact.Tags, []string{"vip"}) ||
					len(o.CustomFields) != 1 || !reflect.DeepEqual(o.CustomFields[0].FieldValue, []any{"a", "b"}) {
					t.Errorf("opportunity decoded wrong: %+v", o)
				}
			}
		})
	}
}

func TestUpsertAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name         string
		status       int
		contentType  string
		body         string
		wantMessages []string
	}{
		{"400", 400, "application/json", `{"statusCode":400,"message":"Bad Request"}`, []string{"Bad Request"}},
		{"401", 401, "application/json", `{"statusCode":401,"message":"The token is not authorized for this scope.","error":"Unauthorized"}`, []string{"The token is not authorized for this scope."}},
		{"422", 422, "application/json", `{"message":["property gender should not exist","pipelineId must be a string"],"error":"Unprocessable Entity","statusCode":422}`, []string{"property gender should not exist", "pipelineId must be a string"}},
		{"404 error field only", 404, "application/json", `{"error":"Not Found"}`, []string{"Not Found"}},
		{"html 502", 502, "text/html", `<html><body><h1>502 Bad Gateway</h1></body></html>`, nil},
		{"json 400 with invalid body", 400, "application/json", `{"statusCode":400,"mess`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, hits := setup(t, reply(tc.status, tc.contentType, tc.body), leadway.WithMaxRetries(0))
			res, err := c.Upsert(context.Background(), minimal())
			var apiErr *leadway.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if res != nil {
				t.Error("result is not nil on error")
			}
			if apiErr.StatusCode != tc.status || string(apiErr.Body) != tc.body || apiErr.ContentType != tc.contentType {
				t.Errorf("APIError = %d %q %q, want %d %q %q", apiErr.StatusCode, apiErr.ContentType, apiErr.Body, tc.status, tc.contentType, tc.body)
			}
			if !reflect.DeepEqual(apiErr.Messages, tc.wantMessages) {
				t.Errorf("Messages = %q, want %q", apiErr.Messages, tc.wantMessages)
			}
			for _, m := range tc.wantMessages {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %q", err, m)
				}
			}
			if hits.Load() != 1 {
				t.Errorf("server saw %d requests, want 1", hits.Load())
			}
		})
	}
}

func TestUpsertUnusableSuccess(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body, want string
	}{
		{"invalid json", "application/json", `{"new":true,"opportunity":{"id":`, "invalid JSON"},
		{"wrong content type", "text/html", `<html>ok</html>`, "not JSON"},
		{"missing new", "application/json", `{"opportunity":{}}`, `missing required field`},
		{"null opportunity", "application/json", `{"new":true,"opportunity":null}`, `missing required field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := setup(t, reply(200, tc.contentType, tc.body))
			_, err := c.Upsert(context.Background(), minimal())
			var respErr *leadway.ResponseError
			if !errors.As(err, &respErr) {
				t.Fatalf("err = %v (%T), want *ResponseError", err, err)
			}
			if respErr.StatusCode != 200 || string(respErr.Body) != tc.body || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ResponseError = %v, body %q; want status 200, the raw body and %q", err, respErr.Body, tc.want)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct{ suffix, wantPath string }{
		{"", "/opportunities/upsert"},
		{"/", "/opportunities/upsert"},
		{"/crm/v1", "/crm/v1/opportunities/upsert"},
		{"/crm/v1/", "/crm/v1/opportunities/upsert"},
	} {
		t.Run(tc.suffix, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				reply(200, "application/json", createdJSON)(w, r)
			}))
			defer srv.Close()
			c, err := leadway.New(testToken, leadway.WithBaseURL(srv.URL+tc.suffix))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Upsert(context.Background(), minimal()); err != nil {
				t.Fatal(err)
			}
			if path != tc.wantPath {
				t.Errorf("path = %q, want %q", path, tc.wantPath)
			}
		})
	}
}

func TestUpsertContextCancellation(t *testing.T) {
	arrived := make(chan struct{})
	c, _, hits := setup(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := c.Upsert(ctx, minimal())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The request had reached the server and carries no id.
	var unknown *leadway.UnknownOutcomeError
	if !errors.As(err, &unknown) {
		t.Errorf("err = %v, want an *UnknownOutcomeError", err)
	}
	if hits.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", hits.Load())
	}

	// A context that is already done sends nothing.
	_, err = c.Upsert(ctx, minimal())
	if !errors.Is(err, context.Canceled) || errors.As(err, &unknown) {
		t.Errorf("err = %v, want context.Canceled and no unknown outcome", err)
	}
	if hits.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", hits.Load())
	}
}

func TestUpsertValidation(t *testing.T) {
	bad := func(edit func(*leadway.UpsertRequest)) leadway.UpsertRequest {
		r := minimal()
		edit(&r)
		return r
	}
	for _, tc := range []struct {
		name, field string
		req         leadway.UpsertRequest
	}{
		{"missing pipelineId", "pipelineId", bad(func(r *leadway.UpsertRequest) { r.PipelineId = "" })},
		{"missing locationId", "locationId", bad(func(r *leadway.UpsertRequest) { r.LocationId = "" })},
		{"empty id", "id", bad(func(r *leadway.UpsertRequest) { r.Id = leadway.Ptr("") })},
		{"bad status", "status", bad(func(r *leadway.UpsertRequest) { r.Status = leadway.Ptr(leadway.Status("closed")) })},
		{"bad followers action", "followersActionType", bad(func(r *leadway.UpsertRequest) { r.FollowersActionType = "replace" })},
		{"too many followers", "followers", bad(func(r *leadway.UpsertRequest) { r.Followers = make([]string, 11) })},
		{"empty follower", "followers", bad(func(r *leadway.UpsertRequest) { r.Followers = []string{"u-1", ""} })},
		{"NaN value", "monetaryValue", bad(func(r *leadway.UpsertRequest) { r.MonetaryValue = leadway.Ptr(math.NaN()) })},
		{"infinite value", "monetaryValue", bad(func(r *leadway.UpsertRequest) { r.MonetaryValue = leadway.Ptr(math.Inf(1)) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, hits := setup(t, reply(200, "application/json", createdJSON))
			_, err := c.Upsert(context.Background(), tc.req)
			var vErr *leadway.ValidationError
			if !errors.As(err, &vErr) || vErr.Field != tc.field {
				t.Fatalf("err = %v, want *ValidationError for %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name the field", err)
			}
			if hits.Load() != 0 {
				t.Errorf("server saw %d requests, want none", hits.Load())
			}
		})
	}
}

func TestNewRejectsBadTokens(t *testing.T) {
	for _, tok := range []string{"", "abc\r\nX-Injected: 1", "abc\n", " abc", "ab\x00c"} {
		_, err := leadway.New(tok)
		if !errors.Is(err, leadway.ErrInvalidToken) {
			t.Errorf("New(%q) err = %v, want ErrInvalidToken", tok, err)
			continue
		}
		if tok != "" && strings.Contains(err.Error(), strings.TrimSpace(tok)) {
			t.Errorf("error %q echoes the token", err)
		}
	}
}

func TestOptionsRejectBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  leadway.Option
	}{
		{"base URL without scheme", leadway.WithBaseURL("services.leadconnectorhq.com")},
		{"base URL ftp", leadway.WithBaseURL("ftp://example.com")},
		{"base URL with query", leadway.WithBaseURL("https://example.com/?a=1")},
		{"base URL with user", leadway.WithBaseURL("https://user:pass@example.com")},
		{"plain http to a remote host", leadway.WithBaseURL("http://crm.example.com")},
		{"nil http client", leadway.WithHTTPClient(nil)},
		{"empty version", leadway.WithAPIVersion("")},
		{"version with newline", leadway.WithAPIVersion("2021-07-28\r\nX: y")},
		{"user agent with newline", leadway.WithUserAgent("a\nb")},
		{"user agent with NUL", leadway.WithUserAgent("a\x00b")},
		{"version with NUL", leadway.WithAPIVersion("2021\x00")},
		{"negative retries", leadway.WithMaxRetries(-1)},
		{"zero retry wait", leadway.WithMaxRetryWait(0)},
		{"negative attempt timeout", leadway.WithAttemptTimeout(-1)},
		{"zero body limit", leadway.WithMaxResponseBytes(0)},
		{"nil limiter", leadway.WithRateLimiter(nil)},
		{"nil logger", leadway.WithLogger(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := leadway.New(testToken, tc.opt); err == nil || c != nil {
				t.Errorf("New = %v, %v; want an error", c, err)
			}
		})
	}
}

func TestOptionsChangeWhatIsSent(t *testing.T) {
	c, reqs, _ := setup(t, reply(200, "application/json", createdJSON),
		leadway.WithAPIVersion("2099-01-01"), leadway.WithUserAgent("billing-sync/2.3"))
	if _, err := c.Upsert(context.Background(), minimal()); err != nil {
		t.Fatal(err)
	}
	h := (*reqs)[0].header
	if h.Get("Version") != "2099-01-01" || h.Get("User-Agent") != "billing-sync/2.3" {
		t.Errorf("Version %q, User-Agent %q; want the configured values", h.Get("Version"), h.Get("User-Agent"))
	}
}

// The contract resolves the vendor page's "object" type to a float64.
var _ *float64 = leadway.UpsertRequest{}.MonetaryValue

func TestUpsertResultID(t *testing.T) {
	c, _, _ := setup(t, reply(200, "application/json", `{"new":true,"opportunity":{}}`))
	res, err := c.Upsert(context.Background(), minimal())
	if err != nil {
		t.Fatal(err)
	}
	if res.ID() != "" || res.Opportunity.Id != "" {
		t.Errorf("ID() = %q for an answer without an id", res.ID())
	}
	var none *leadway.UpsertResult
	if none.ID() != "" {
		t.Error("nil result has an ID")
	}
}

func newServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
