package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/leadwaycrm/leadway/leadwaytest"
)

const fakeUsage = `Usage: leadway fake [flags]

Runs a fake Leadway API on this machine until interrupted (Ctrl-C or
SIGTERM). It serves POST /opportunities/upsert with the contract's checks,
keeps opportunities in memory, and logs each request to stderr. It prints
its URL and the token it accepts; point leadway upsert, curl or your own
code at it.

Flags:
`

func runFake(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("leadway fake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on; port 0 picks a free one")
	token := fs.String("token", "", "the `token` to accept (default: a random one, printed at start)")
	rateMax := fs.Int("rate-max", leadwaytest.DefaultRateMax, "requests allowed per location per window")
	rateInterval := fs.Duration("rate-interval", leadwaytest.DefaultRateInterval, "length of a rate window")
	daily := fs.Int("daily-limit", leadwaytest.DefaultDailyLimit, "requests allowed per location per day")
	window := fs.String("window", "fixed", "how the rate window counts: `fixed` or sliding")
	quiet := fs.Bool("quiet", false, "do not log requests")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, fakeUsage)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			return exitOK
		}
		return fail(e, usageErrorf("fake: %v (see leadway fake --help)", err))
	}
	if fs.NArg() > 0 {
		return fail(e, usageErrorf("fake: unexpected argument %q", fs.Arg(0)))
	}

	model, err := leadwaytest.ParseWindowModel(*window)
	if err != nil {
		return fail(e, usageErrorf("fake: --window: %v (see leadway fake --help)", err))
	}
	opts := []leadwaytest.Option{
		leadwaytest.WithAddr(*addr),
		leadwaytest.WithRateLimit(*rateMax, *rateInterval),
		leadwaytest.WithWindow(model),
		leadwaytest.WithDailyLimit(*daily),
	}
	if *token != "" {
		opts = append(opts, leadwaytest.WithToken(*token))
	}
	if !*quiet {
		opts = append(opts, leadwaytest.WithLogger(slog.New(slog.NewTextHandler(e.stderr, nil))))
	}
	srv, err := leadwaytest.Start(opts...)
	var listenErr *net.OpError
	switch {
	case errors.As(err, &listenErr):
		report(e, err)
		return exitFailure
	case err != nil:
		return fail(e, usageErrorf("fake: %v (see leadway fake --help)", err))
	}
	fmt.Fprintf(e.stdout, `Fake Leadway API listening on %[1]s
Token: %[2]s

Try it:
  export LEADWAY_BASE_URL=%[1]s LEADWAY_TOKEN=%[2]s
  leadway upsert --pipeline-id pipe-1 --location-id loc-1 --name "Website redesign"

Stop it with Ctrl-C.
`, srv.URL, srv.Token)

	<-ctx.Done()
	srv.Close()
	st := srv.Stats()
	fmt.Fprintf(e.stdout, "Stopped after %d requests (%d created, %d updated, %d refused, %d rate limited).\n",
		st.Requests, st.Created, st.Updated, st.Rejected, st.RateLimited)
	return exitOK
}
