package leadway

import (
	"errors"
	"math"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestDecide is the retry policy as a table: every outcome, for a create
// (no id) and for an update (with id), with retries left and without.
func TestDecide(t *testing.T) {
	answer := func(status int, kv ...string) outcome {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return outcome{resp: &http.Response{StatusCode: status, Header: h}, rl: parseRateLimit(h), sent: true}
	}
	unsent := outcome{err: syscall.ECONNREFUSED, sent: false}
	lost := outcome{err: syscall.ECONNRESET, sent: true}
	daily := answer(429, "X-RateLimit-Limit-Daily", "200000", "X-RateLimit-Daily-Remaining", "0")

	for _, tc := range []struct {
		name        string
		o           outcome
		create, upd action // with retries left
		createSpent action // with no retries left
		refreshable bool
		refreshed   bool
		otherHost   bool
	}{
		{name: "200", o: answer(200), create: actReturn, upd: actReturn, createSpent: actReturn},
		{name: "201", o: answer(201), create: actReturn, upd: actReturn, createSpent: actReturn},
		{name: "307 for http.Client to follow", o: answer(307), create: actReturn, upd: actReturn, createSpent: actReturn},
		{name: "400", o: answer(400), create: actFail, upd: actFail, createSpent: actFail},
		{name: "401 static token", o: answer(401), create: actFail, upd: actFail, createSpent: actFail},
		{name: "401 token source", o: answer(401), refreshable: true, create: actRefresh, upd: actRefresh, createSpent: actRefresh},
		{name: "401 token source, refreshed", o: answer(401), refreshable: true, refreshed: true, create: actFail, upd: actFail, createSpent: actFail},
		{name: "401 token source, other host", o: answer(401), refreshable: true, otherHost: true, create: actFail, upd: actFail, createSpent: actFail},
		{name: "404", o: answer(404), create: actFail, upd: actFail, createSpent: actFail},
		{name: "422", o: answer(422), create: actFail, upd: actFail, createSpent: actFail},
		{name: "429 burst", o: answer(429), create: actRetry, upd: actRetry, createSpent: actFail},
		{name: "429 daily", o: daily, create: actFail, upd: actFail, createSpent: actFail},
		{name: "500", o: answer(500), create: actUnknown, upd: actRetry, createSpent: actUnknown},
		{name: "501", o: answer(501), create: actUnknown, upd: actFail, createSpent: actUnknown},
		{name: "502", o: answer(502), create: actUnknown, upd: actRetry, createSpent: actUnknown},
		{name: "503", o: answer(503), create: actRetry, upd: actRetry, createSpent: actFail},
		{name: "504", o: answer(504), create: actUnknown, upd: actRetry, createSpent: actUnknown},
		{name: "520", o: answer(520), create: actUnknown, upd: actFail, createSpent: actUnknown},
		{name: "524", o: answer(524), create: actUnknown, upd: actFail, createSpent: actUnknown},
		{name: "connect failed", o: unsent, create: actRetry, upd: actRetry, createSpent: actFail},
		{name: "sent, then no answer", o: lost, create: actUnknown, upd: actRetry, createSpent: actUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := policyState{retriesLeft: 2, refreshable: tc.refreshable, refreshed: tc.refreshed, sameHost: !tc.otherHost}
			if got := decide(tc.o, false, s).action; got != tc.create {
				t.Errorf("create: %v, want %v", got, tc.create)
			}
			if got := decide(tc.o, true, s).action; got != tc.upd {
				t.Errorf("update: %v, want %v", got, tc.upd)
			}
			s.retriesLeft = 0
			if got := decide(tc.o, false, s).action; got != tc.createSpent {
				t.Errorf("create without retries left: %v, want %v", got, tc.createSpent)
			}
		})
	}
}

func (a action) String() string {
	return [...]string{"return", "fail", "unknown outcome", "retry", "refresh"}[a]
}

// TestRetryWait is the one computation of the wait before a retry.
func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC)
	answer := func(status int, kv ...string) outcome {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return outcome{resp: &http.Response{StatusCode: status, Header: h}, rl: parseRateLimit(h), sent: true}
	}
	for _, tc := range []struct {
		name       string
		o          outcome
		server     time.Duration // what the server asked for; -1 for none
		retryWait  time.Duration // capped at 30s; -1 for backoff
		forAttempt int
	}{
		{"Retry-After-Ms first", answer(429, "Retry-After-Ms", "1500", "Retry-After", "9"), 1500 * time.Millisecond, 1500 * time.Millisecond, 1},
		{"Retry-After", answer(503, "Retry-After", "9"), 9 * time.Second, 9 * time.Second, 1},
		{"429 burst window", answer(429, "X-RateLimit-Interval-Milliseconds", "10000"), 10 * time.Second, 10 * time.Second, 1},
		{"429 daily: until midnight, no retry", answer(429, "X-RateLimit-Limit-Daily", "5", "X-RateLimit-Daily-Remaining", "0"), time.Hour, 30 * time.Second, 1},
		{"out of range is the longest, capped", answer(429, "Retry-After", "1e400"), math.MaxInt64, 30 * time.Second, 1},
		{"503 without a header backs off", answer(503, "X-RateLimit-Interval-Milliseconds", "10000"), -1, -1, 2},
		{"no answer backs off", outcome{err: errors.New("reset"), sent: true}, -1, -1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := serverWait(tc.o, now)
			if tc.server < 0 {
				if ok {
					t.Errorf("serverWait = %s, want none", d)
				}
			} else if !ok || d != tc.server {
				t.Errorf("serverWait = %s, %v; want %s", d, ok, tc.server)
			}
			got := retryWait(tc.o, tc.forAttempt, 30*time.Second, now)
			if tc.retryWait >= 0 {
				if got != tc.retryWait {
					t.Errorf("retryWait = %s, want %s", got, tc.retryWait)
				}
				return
			}
			full := min(backoffBase<<(tc.forAttempt-1), backoffMax)
			if got < full/2 || got > full {
				t.Errorf("retryWait = %s, want a backoff within [%s, %s]", got, full/2, full)
			}
		})
	}
}
