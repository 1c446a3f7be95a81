package main

import (
	"fmt"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/spf13/pflag"
)

// fakeOAuthFlags are the fake's OAuth flags.
type fakeOAuthFlags struct {
	clientID, secret string
	lifetime         time.Duration
	locations        []string
	company          string
}

func (f *fakeOAuthFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.clientID, "oauth-client-id", "", "serve OAuth for the app with this client `ID`")
	fs.StringVar(&f.secret, "oauth-client-secret", "", "the app's client `secret`, with --oauth-client-id")
	fs.DurationVar(&f.lifetime, "token-lifetime", leadwaytest.DefaultTokenLifetime, "how long access tokens live (at least 1s)")
	fs.StringSliceVar(&f.locations, "oauth-location", []string{"loc-1"}, "location `IDs` the authorization approves, comma-separated")
	fs.StringVar(&f.company, "oauth-company", "", "approve an agency (Company) install of company `ID` for the --oauth-location IDs, instead of a Location install")
}

func (f *fakeOAuthFlags) on() bool { return f.clientID != "" || f.secret != "" }

// options returns the fake's OAuth options, or a usage error.
func (f *fakeOAuthFlags) options() ([]leadwaytest.Option, error) {
	if !f.on() {
		return nil, nil
	}
	if f.clientID == "" || f.secret == "" {
		return nil, usageErrorf("fake: --oauth-client-id and --oauth-client-secret go together")
	}
	in := leadwaytest.Install{UserType: "Location", CompanyID: "company-1"}
	switch {
	case f.company != "":
		in.UserType, in.CompanyID, in.ApprovedLocations = "Company", f.company, f.locations
	case len(f.locations) != 1:
		return nil, usageErrorf("fake: a Location install approves one --oauth-location; pass --oauth-company for an agency install of several")
	default:
		in.LocationID = f.locations[0]
	}
	return []leadwaytest.Option{
		leadwaytest.WithOAuth(f.clientID, f.secret),
		leadwaytest.WithTokenLifetime(f.lifetime),
		leadwaytest.WithApprovedInstall(in),
	}, nil
}

// banner says how to use the fake's OAuth server. It never prints the
// client secret: the user passed it and knows it.
func (f *fakeOAuthFlags) banner(e env, url string) {
	what := "a Location install of " + f.locations[0]
	if f.company != "" {
		what = fmt.Sprintf("an agency install of %s approving %v", f.company, f.locations)
	}
	fmt.Fprintf(e.stdout, `Fake Leadway API listening on %[1]s
OAuth app %[2]s: the authorization approves %[3]s; tokens live %[4]s.

Try it:
  export LEADWAY_BASE_URL=%[1]s LEADWAY_AUTH_URL=%[1]s/oauth/chooselocation
  export LEADWAY_CLIENT_ID=%[2]s LEADWAY_CLIENT_SECRET=<the --oauth-client-secret value>
  leadway auth login --store fake-installs.json
  leadway upsert --store fake-installs.json --pipeline-id pipe-1 --location-id %[5]s --name "Website redesign"

Stop it with Ctrl-C.
`, url, f.clientID, what, f.lifetime, f.locations[0])
}
