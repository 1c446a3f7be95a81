package leadwaytest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// A test starts a fake, points a client at it, and checks what the fake
// stored.
func Example() {
	srv := leadwaytest.NewServer()
	defer srv.Close()

	// The same as leadway.New(srv.Token, leadway.WithBaseURL(srv.URL)).
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Upsert(context.Background(), leadway.UpsertRequest{
		PipelineId: "pipe-1",
		LocationId: "loc-1",
		Name:       leadway.Ptr("Website redesign"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new:", res.New, "id:", res.Opportunity.Id, "status:", res.Opportunity.Status)

	stored := srv.Opportunities()
	fmt.Println("stored:", len(stored), stored[0].Name)
	// Output:
	// new: true id: opp00000000000000001 status: open
	// stored: 1 Website redesign
}

// Faults test the paths that are hard to reach against the real API. Here
// the connection drops after the upsert was applied: the client cannot know
// whether it was, and says so.
func ExampleServer_FailNext() {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	srv.FailNext(1, leadwaytest.Fault{Reset: true, Apply: true})
	_, err = client.Upsert(context.Background(), leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1"})

	var unknown *leadway.UnknownOutcomeError
	fmt.Println("unknown outcome:", errors.As(err, &unknown))
	fmt.Println("stored anyway:", len(srv.Opportunities()))
	// Output:
	// unknown outcome: true
	// stored anyway: 1
}

// A small budget makes the fake answer 429 at once. The client's own
// limiter is turned off, or it would wait for the window instead.
func ExampleWithRateLimit() {
	srv := leadwaytest.NewServer(leadwaytest.WithRateLimit(1, time.Hour))
	defer srv.Close()
	client, err := srv.Client(leadway.WithoutRateLimiter(), leadway.WithMaxRetries(0))
	if err != nil {
		log.Fatal(err)
	}

	req := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1"}
	for range 2 {
		_, err = client.Upsert(context.Background(), req)
	}
	var limited *leadway.RateLimitError
	if errors.As(err, &limited) {
		fmt.Println("rate limited; remaining:", limited.RateLimit.Remaining, "daily:", limited.Daily)
	}
	fmt.Println("429s sent:", srv.Stats().RateLimited)
	// Output:
	// rate limited; remaining: 0 daily: false
	// 429s sent: 1
}

// Requests shows what went over the wire, for assertions on headers and
// the exact body.
func ExampleServer_Requests() {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Upsert(context.Background(), leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1"})
	if err != nil {
		log.Fatal(err)
	}

	r := srv.Requests()[0]
	fmt.Println(r.Method, r.Path)
	fmt.Println("Version:", r.Header.Get("Version"))
	fmt.Println(string(r.Body))
	// Output:
	// POST /opportunities/upsert
	// Version: 2021-07-28
	// {"followers":[],"followersActionType":"add","isRemoveAllFollowers":false,"locationId":"loc-1","pipelineId":"pipe-1"}
}
