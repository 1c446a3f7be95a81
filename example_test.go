package leadway_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"golang.org/x/oauth2"
)

// Create an opportunity, then move it to another stage. The fake server
// stands in for the real API here; against it, use leadway.New(token).
func Example() {
	srv := leadwaytest.NewServer()
	defer srv.Close()

	client, err := leadway.New(srv.Token, leadway.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	created, err := client.Upsert(ctx, leadway.UpsertRequest{
		PipelineId:      "bCkKGpDsyPP4peuKowkG",
		LocationId:      "CLu7BaljjqrEjBGKTNNe",
		Name:            leadway.Ptr("Website redesign"),
		PipelineStageId: leadway.Ptr("stage-qualified"),
		MonetaryValue:   leadway.Ptr(220.0),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created.New, created.ID())

	// With its id the call updates, and is safe to retry.
	updated, err := client.Upsert(ctx, leadway.UpsertRequest{
		Id:              leadway.Ptr(created.Opportunity.Id),
		PipelineId:      "bCkKGpDsyPP4peuKowkG",
		LocationId:      "CLu7BaljjqrEjBGKTNNe",
		PipelineStageId: leadway.Ptr("stage-proposal"),
		MonetaryValue:   leadway.Ptr(1500.5),
	})
	if err != nil {
		log.Fatal(err)
	}
	o := updated.Opportunity
	fmt.Println("created:", updated.New, o.Id, o.Name, o.PipelineStageId, o.MonetaryValue)
	// Output:
	// created: true opp00000000000000001
	// created: false opp00000000000000001 Website redesign stage-proposal 1500.5
}

// A service reads its Private Integration token from the environment and
// shares one client across goroutines.
func ExampleNew() {
	client, err := leadway.New(os.Getenv("LEADWAY_TOKEN"),
		leadway.WithUserAgent("billing-sync/2.3"),
		leadway.WithMaxRetries(3),
		leadway.WithLogger(slog.Default()),
	)
	if errors.Is(err, leadway.ErrInvalidToken) {
		log.Fatal("LEADWAY_TOKEN is not set")
	}
	_ = client
}

// OAuth access tokens expire after a day; a token source from
// golang.org/x/oauth2 refreshes them, and the client asks it before every
// attempt.
func ExampleNewFromTokenSource() {
	conf := &oauth2.Config{
		ClientID:     os.Getenv("LEADWAY_CLIENT_ID"),
		ClientSecret: os.Getenv("LEADWAY_CLIENT_SECRET"),
		Endpoint:     oauth2.Endpoint{TokenURL: "https://services.leadconnectorhq.com/oauth/token"},
	}
	stored := &oauth2.Token{RefreshToken: os.Getenv("LEADWAY_REFRESH_TOKEN")}
	client, err := leadway.NewFromTokenSource(conf.TokenSource(context.Background(), stored))
	if err != nil {
		log.Fatal(err)
	}
	_ = client
}

// Each kind of failure has its own type, matched with errors.As.
func ExampleClient_Upsert_errors() {
	srv := leadwaytest.NewServer()
	defer srv.Close()
	client, err := leadway.New("not-the-token", leadway.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Checked before sending: nothing reaches the server.
	_, err = client.Upsert(ctx, leadway.UpsertRequest{LocationId: "loc-1"})
	var invalid *leadway.ValidationError
	if errors.As(err, &invalid) {
		fmt.Println("invalid:", invalid.Field, invalid.Reason)
	}

	_, err = client.Upsert(ctx, leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: "loc-1"})
	var (
		apiErr  *leadway.APIError
		limited *leadway.RateLimitError
		unknown *leadway.UnknownOutcomeError
	)
	switch {
	case errors.As(err, &unknown):
		fmt.Println("may have been created; look it up before retrying")
	case errors.As(err, &limited):
		fmt.Println("rate limited; retry in", limited.RetryAfter)
	case errors.As(err, &apiErr):
		fmt.Println("refused:", apiErr.StatusCode, apiErr.Messages)
	}
	// Output:
	// invalid: pipelineId is required
	// refused: 401 [Invalid token]
}

// A limiter may stop a call before anything is sent, for example when the
// day's budget is spent. The error is still a *RateLimitError, with no
// APIError inside.
func ExampleRateLimitError_nothingSent() {
	err := &leadway.RateLimitError{Daily: true, RetryAfter: 90 * time.Minute}
	fmt.Println(err, err.Attempts, err.Unwrap() == nil)
	var apiErr *leadway.APIError
	fmt.Println(errors.As(err, &apiErr))
	// Output:
	// leadway: rate limited: daily budget used up; try again in 1h30m0s; nothing was sent 0 true
	// false
}
