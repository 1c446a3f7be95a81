package oauth_test

import (
	"context"
	"fmt"
	"log"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/oauth"
)

// An agency installs the app for two of its locations; one client then
// upserts into both, each call with its own location's token. The fake
// stands in for HighLevel here: in production, leave BaseURL empty, use
// redisstore.New(rdb) to share installs across replicas, and take the
// code from your redirect handler after checking its state.
func ExampleNewManager() {
	srv := leadwaytest.NewServer(leadwaytest.WithOAuth("my-app", "my-app-secret"))
	defer srv.Close()

	cfg := &oauth.Config{
		ClientID:     "my-app",
		ClientSecret: "my-app-secret",
		RedirectURL:  "https://app.example.com/oauth/callback",
		Scopes:       []string{"opportunities.write", "oauth.write"},
		BaseURL:      srv.URL,
	}
	mgr, err := oauth.NewManager(cfg, oauth.NewMemoryStore())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// The user approved the app at cfg.AuthCodeURL(state) and came back
	// with a code.
	code := srv.AuthorizationCode(leadwaytest.Install{UserType: "Company", CompanyID: "agency-1",
		ApprovedLocations: []string{"loc-east", "loc-west"}})
	in, err := mgr.Exchange(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.Key(), in.ApprovedLocations)

	client, err := leadway.NewFromLocationTokens(mgr, leadway.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	for _, loc := range in.ApprovedLocations {
		res, err := client.Upsert(ctx, leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: loc, Name: leadway.Ptr("Website redesign")})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(loc, res.New, res.ID())
	}
	// Output:
	// company:agency-1 [loc-east loc-west]
	// loc-east true opp00000000000000001
	// loc-west true opp00000000000000002
}
