package leadwaytest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// manualClock is a test clock that moves only when told to.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// WithClock moves the fake's rate windows, not the client's waits, which run
// on real time. A test about 429s stays fast when the client neither waits
// for its own limiter nor retries: it gets the *RateLimitError at once,
// checks it, and moves the fake's clock past the window.
func Example_rateLimitWithoutWaiting() {
	clk := &manualClock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	srv := leadwaytest.NewServer(
		leadwaytest.WithRateLimit(1, 10*time.Second),
		leadwaytest.WithClock(clk.Now),
	)
	defer srv.Close()
	client, err := srv.Client(leadway.WithoutRateLimiter(), leadway.WithMaxRetries(0))
	if err != nil {
		log.Fatal(err)
	}
	req := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1"}
	ctx := context.Background()

	_, err = client.Upsert(ctx, req)
	fmt.Println("first call:", err)

	_, err = client.Upsert(ctx, req)
	var limited *leadway.RateLimitError
	fmt.Println("second call rate limited:", errors.As(err, &limited), "retry after:", limited.RetryAfter)

	clk.Advance(10 * time.Second) // the fake's window ends; no real time passes
	_, err = client.Upsert(ctx, req)
	fmt.Println("after the window:", err)
	// Output:
	// first call: <nil>
	// second call rate limited: true retry after: 10s
	// after the window: <nil>
}
