package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/spf13/cobra"
)

const fakeLong = `Runs a fake Leadway API on this machine until interrupted (Ctrl-C or
SIGTERM). It serves POST /opportunities/upsert with the contract's checks,
keeps opportunities in memory, and logs each request to stderr. It prints
its URL and the token it accepts; point leadway upsert, curl or your own
code at it.

With --oauth-client-id and --oauth-client-secret it is also the OAuth
server of that app (api/oauth.yaml): GET /oauth/chooselocation approves at
once and redirects with a code, POST /oauth/token redeems codes and refresh
tokens (a refresh token redeemed twice revokes its install), and
POST /oauth/locationToken mints location tokens for an agency install.
Upserts then need an access token issued for their location, as leadway
auth login and leadway upsert --store get them. What the authorization
approves: a Location install of --oauth-location, or with --oauth-company an
agency install approving every --oauth-location.`

// fakeFlags holds the fake command's flags.
type fakeFlags struct {
	addr, token  string
	rateMax      int
	rateInterval time.Duration
	daily        int
	window       string
	quiet        bool
	webhooks     webhookFlags
	oauth        fakeOAuthFlags
}

func newFakeCmd(e env) *cobra.Command {
	f := &fakeFlags{}
	cmd := &cobra.Command{
		Use:   "fake",
		Short: "Run a fake Leadway API on this machine until interrupted",
		Long:  fakeLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(runFake(cmd.Context(), f, e))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "`address` to listen on; port 0 picks a free one")
	fs.StringVar(&f.token, "token", "", "the `token` to accept (default: a random one, printed at start)")
	fs.IntVar(&f.rateMax, "rate-max", leadwaytest.DefaultRateMax, "requests allowed per location per window")
	fs.DurationVar(&f.rateInterval, "rate-interval", leadwaytest.DefaultRateInterval, "length of a rate window")
	fs.IntVar(&f.daily, "daily-limit", leadwaytest.DefaultDailyLimit, "requests allowed per location per day")
	fs.StringVar(&f.window, "window", "fixed", "how the rate window counts: `fixed` or sliding")
	fs.BoolVar(&f.quiet, "quiet", false, "do not log requests")
	f.webhooks.add(fs)
	f.oauth.add(fs)
	return cmd
}

func runFake(ctx context.Context, f *fakeFlags, e env) int {
	model, err := leadwaytest.ParseWindowModel(f.window)
	if err != nil {
		return fail(e, usageErrorf("fake: --window: %v (see leadway fake --help)", err))
	}
	opts := []leadwaytest.Option{
		leadwaytest.WithAddr(f.addr),
		leadwaytest.WithRateLimit(f.rateMax, f.rateInterval),
		leadwaytest.WithWindow(model),
		leadwaytest.WithDailyLimit(f.daily),
	}
	if f.token != "" {
		opts = append(opts, leadwaytest.WithToken(f.token))
	}
	hooks, err := f.webhooks.options()
	if err != nil {
		return fail(e, err)
	}
	opts = append(opts, hooks...)
	if !f.quiet {
		opts = append(opts, leadwaytest.WithLogger(slog.New(slog.NewTextHandler(e.stderr, nil))))
	}
	oauthOpts, err := f.oauth.options()
	if err != nil {
		return fail(e, err)
	}
	opts = append(opts, oauthOpts...)
	srv, err := leadwaytest.Start(opts...)
	var listenErr *net.OpError
	switch {
	case errors.As(err, &listenErr):
		report(e, err)
		return exitFailure
	case err != nil:
		return fail(e, usageErrorf("fake: %v (see leadway fake --help)", err))
	}
	if f.oauth.on() {
		f.oauth.banner(e, srv.URL)
	} else {
		fmt.Fprintf(e.stdout, `Fake Leadway API listening on %[1]s
Token: %[2]s

Try it:
  export LEADWAY_BASE_URL=%[1]s LEADWAY_TOKEN=%[2]s
  leadway upsert --pipeline-id pipe-1 --location-id loc-1 --name "Website redesign"

Stop it with Ctrl-C.
`, srv.URL, srv.Token)
	}
	f.webhooks.printStart(e)

	<-ctx.Done()
	f.webhooks.settle(srv)
	srv.Close()
	st := srv.Stats()
	fmt.Fprintf(e.stdout, "Stopped after %d requests (%d created, %d updated, %d refused, %d rate limited).\n",
		st.Requests, st.Created, st.Updated, st.Rejected, st.RateLimited)
	f.webhooks.printStop(e, srv)
	if f.oauth.on() {
		oa := srv.OAuthStats()
		fmt.Fprintf(e.stdout, "OAuth: %d codes exchanged, %d refreshes, %d reuses detected, %d location tokens minted.\n",
			oa.Exchanges, oa.Refreshes, oa.Reuses, oa.LocationTokens)
	}
	return exitOK
}
