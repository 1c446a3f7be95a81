package leadwaytest

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// roundTripFunc answers requests in process, so that the sender runs in a
// synctest bubble on virtual time.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSenderSchedule: after a 429 the event goes again exactly one interval
// later, as often as allowed; other events are not held up meanwhile.
func TestSenderSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var (
			mu    sync.Mutex
			times = map[string][]time.Duration{}
		)
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			times[string(body)] = append(times[string(body)], time.Since(start))
			mu.Unlock()
			status := http.StatusTooManyRequests
			if string(body) == "other" {
				status = http.StatusOK
			}
			return &http.Response{StatusCode: status, Body: http.NoBody, Request: r}, nil
		})
		sn := newSender(webhookConfig{url: "http://receiver.test/", interval: 10 * time.Minute, attempts: 3, retrySet: true}, rt, nil)
		defer sn.close()
		sn.enqueue(&WebhookDelivery{Body: []byte("busy")})
		synctest.Wait()
		sn.enqueue(&WebhookDelivery{Body: []byte("other")})
		if err := sn.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}
		if got := times["busy"]; !equalDurations(got, want) {
			t.Errorf("attempts at %v, want %v", got, want)
		}
		if got := times["other"]; len(got) != 1 || got[0] != 0 {
			t.Errorf("a second event waited for the first's redeliveries: sent at %v", got)
		}
		all := sn.list(func(WebhookOutcome) bool { return true })
		if all[0].Outcome != WebhookExhausted || len(all[0].Attempts) != 4 || all[1].Outcome != WebhookDelivered {
			t.Errorf("records %+v", all)
		}
	})
}

// TestSenderDefaults: without WithWebhookRetry, HighLevel's schedule.
func TestSenderDefaults(t *testing.T) {
	sn := newSender(webhookConfig{url: "http://receiver.test/"}, roundTripFunc(nil), nil)
	defer sn.close()
	if sn.interval != 10*time.Minute || sn.attempts != 6 {
		t.Errorf("defaults %s x %d, want 10m x 6", sn.interval, sn.attempts)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
