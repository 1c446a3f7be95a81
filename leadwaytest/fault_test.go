package leadwaytest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
)

// post sends a valid upsert and returns the response with its body read,
// or the error of either step.
func post(ctx context.Context, srv *leadwaytest.Server, body string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+upsertPath, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, string(data), err
}

func TestFaultStatus(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	srv.FailNext(2, leadwaytest.Fault{Status: 503})
	srv.FailNext(1, leadwaytest.Fault{Status: 500, Body: []byte("<html>oops</html>"), Header: http.Header{"Retry-After": {"7"}}})

	for range 2 {
		resp, body, err := post(t.Context(), srv, minimalBody)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-RateLimit-Max") != "100" {
			t.Errorf("got %d %v", resp.StatusCode, resp.Header)
		}
		assertJSON(t, body, `{"statusCode":503,"message":"Service Unavailable"}`)
	}
	resp, body, err := post(t.Context(), srv, minimalBody)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || body != "<html>oops</html>" || resp.Header.Get("Retry-After") != "7" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("got %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if len(srv.Opportunities()) != 0 {
		t.Error("a failed request was applied")
	}
	// The queue is used up: the next request is handled.
	if resp, _, err := post(t.Context(), srv, minimalBody); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the faults: %v %v", resp, err)
	}
	if st := srv.Stats(); st.Faults != 3 || st.Created != 1 || st.Rejected != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultStatusApplied(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	srv.FailNext(1, leadwaytest.Fault{Status: 500, Apply: true})
	resp, _, err := post(t.Context(), srv, minimalBody)
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("got %v %v", resp, err)
	}
	if len(srv.Opportunities()) != 1 {
		t.Error("the upsert was not applied")
	}
}

func TestFaultReset(t *testing.T) {
	for _, apply := range []bool{false, true} {
		srv := leadwaytest.NewServer()
		srv.FailNext(1, leadwaytest.Fault{Reset: true, Apply: apply})
		if _, _, err := post(t.Context(), srv, minimalBody); err == nil {
			t.Errorf("apply=%t: no error after a reset", apply)
		}
		if got, want := len(srv.Opportunities()), map[bool]int{false: 0, true: 1}[apply]; got != want {
			t.Errorf("apply=%t: %d stored, want %d", apply, got, want)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("apply=%t: recorded %d requests", apply, n)
		}
		srv.Close()
	}
}

func TestFaultTruncate(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	srv.FailNext(1, leadwaytest.Fault{Truncate: true})
	resp, body, err := post(t.Context(), srv, minimalBody)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "99" {
		t.Errorf("got %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.HasPrefix(body, `{"new":true`) || int64(len(body)) >= resp.ContentLength {
		t.Errorf("body %q of announced %d bytes", body, resp.ContentLength)
	}
	if len(srv.Opportunities()) != 1 {
		t.Error("the upsert was not applied")
	}
}

func TestFaultDelay(t *testing.T) {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	srv.FailNext(1, leadwaytest.Fault{Delay: 10 * time.Millisecond})
	if resp, _, err := post(t.Context(), srv, minimalBody); err != nil || resp.StatusCode != 200 {
		t.Fatalf("delayed request: %v %v", resp, err)
	}

	// A client that gives up cuts a long delay short, and nothing is applied.
	srv.FailNext(1, leadwaytest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := post(ctx, srv, minimalBody); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if n := len(srv.Opportunities()); n != 1 {
		t.Errorf("%d stored, want 1", n)
	}
}

func TestCloseCutsDelaysShort(t *testing.T) {
	srv := leadwaytest.NewServer()
	srv.FailNext(1, leadwaytest.Fault{Delay: time.Hour})
	errc := make(chan error, 1)
	go func() {
		_, _, err := post(context.Background(), srv, minimalBody)
		errc <- err
	}()
	for len(srv.Requests()) == 0 { // the request is in the delay
		time.Sleep(time.Millisecond)
	}
	srv.Close() // must return long before the hour; goleak checks the rest
	if err := <-errc; err == nil {
		t.Error("the delayed request succeeded after Close")
	}
}
