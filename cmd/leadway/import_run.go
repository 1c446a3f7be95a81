package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/internal/importer"
	"github.com/leadwaycrm/leadway/oauth"
	"github.com/leadwaycrm/leadway/redislimit"
	"github.com/spf13/cobra"
)

// runImport runs one import: it locks the journal, checks every row, then
// sends, and says how it ended.
func runImport(ctx context.Context, cmd *cobra.Command, path string, f *importFlags, g *globalFlags, e env) int {
	cfg, err := f.config(ctx, path, e)
	if err != nil {
		return fail(e, err)
	}
	if f.dryRun {
		return dryRunImport(e, cfg, f)
	}
	// One run per journal, taken before the check: a second run is refused
	// before it reads or sends anything.
	lock, err := importer.Lock(cfg.JournalPath())
	if err != nil {
		return failImport(e, err)
	}
	defer lock.Unlock()
	scan, err := importer.Check(cfg)
	if err != nil {
		return failImport(e, err)
	}
	client, counter, release, err := f.client(cmd, e, g, f.perLocation*len(scan.Locations))
	if err != nil {
		return fail(e, err)
	}
	defer release()
	if err := client.covers(ctx, scan); err != nil {
		return fail(e, withLoginHint(err))
	}
	fmt.Fprintf(e.stderr, "leadway: import: %d rows in %s; journal %s\n", scan.Rows, path, cfg.JournalPath())
	prog := newProgress(e.stderr, scan.Rows, f.progressInterval)
	cfg.Progress = prog.update
	cfg.Notice = func(msg string) { fmt.Fprintf(e.stderr, "leadway: import: %s\n", msg) }
	cfg.Stopping = func(n int) {
		calls := "calls"
		if n == 1 {
			calls = "call"
		}
		fmt.Fprintf(e.stderr, "leadway: import: stopping; waiting for %d %s in flight (at most %s; press Ctrl-C again to cancel them)\n",
			n, calls, f.drainTimeout)
	}
	runCtx, stopSignals := secondSignalCancels(ctx)
	defer stopSignals()
	sum, err := importer.Run(runCtx, client.Client, cfg, scan, counter)
	prog.finish()
	if err != nil {
		return failImport(e, err)
	}
	return summarize(e, cmd, path, sum, f)
}

// config checks the flags and builds the import's configuration.
func (f *importFlags) config(ctx context.Context, path string, e env) (*importer.Config, error) {
	spec, err := f.spec(path)
	if err != nil {
		return nil, err
	}
	if f.perLocation < 1 || f.drainTimeout < 0 || f.budget.Max < 1 || f.budget.Interval <= 0 || f.budget.Daily < 1 {
		return nil, usageErrorf("import: --per-location, --rate-max, --rate-interval and --daily-limit must be positive, --drain-timeout not negative")
	}
	return &importer.Config{
		Input:        path,
		Spec:         spec,
		Journal:      f.journal,
		Restart:      f.restart,
		PerLocation:  f.perLocation,
		Stop:         ctx.Done(),
		DrainTimeout: f.drainTimeout,
		OutputDir:    f.outputDir,
		Invalid: func(row *importer.Row) {
			fmt.Fprintf(e.stderr, "%s:%d: row %d: %v\n", path, row.Line, row.Num, row.Err)
		},
	}, nil
}

// dryRunImport checks every row and prints the plan; it sends nothing and
// needs no token.
func dryRunImport(e env, cfg *importer.Config, f *importFlags) int {
	scan, err := importer.Check(cfg)
	if err != nil {
		return failImport(e, err)
	}
	done, err := importer.Done(cfg, scan)
	if err != nil {
		return failImport(e, err)
	}
	importer.WritePlan(e.stdout, cfg, scan, f.budget, done)
	return exitOK
}

// client builds the import's client on LEADWAY_TOKEN or the installs of
// --store, with the shared or told budget, sending through the transport
// that records each row as it leaves.
func (f *importFlags) client(cmd *cobra.Command, e env, g *globalFlags, inFlight int) (*importClient, *importer.Transport, func(), error) {
	token := e.getenv("LEADWAY_TOKEN")
	useStore, err := usesStore(e, "import", f.store, token)
	if err != nil {
		return nil, nil, nil, err
	}
	if token == "" && !useStore {
		return nil, nil, nil, usageErrorf("LEADWAY_TOKEN is not set: export the API token there (it is never taken from a flag), or use installs with --store")
	}
	counter := &importer.Transport{Base: importer.BaseTransport(min(max(inFlight, 2), 1024))}
	opts := append([]leadway.Option{
		leadway.WithMaxRetries(f.maxRetries),
		leadway.WithHTTPClient(&http.Client{Transport: counter}),
	}, g.clientOptions(e)...)
	// Told the app's budget, the limiter need not learn it from the first
	// answers; a shared one takes it too.
	fl := cmd.Flags()
	told := fl.Changed("rate-max") || fl.Changed("rate-interval")
	var budget []redislimit.Option
	if told {
		budget = append(budget, redislimit.WithBudget(f.budget.Max, f.budget.Interval))
	}
	shared, releaseLimiter, err := sharedLimiterOptions(cmd, budget...)
	if err != nil {
		return nil, nil, nil, err
	}
	switch {
	case len(shared) > 0:
		opts = append(opts, shared...)
	case told:
		opts = append(opts, leadway.WithRateLimiter(leadway.NewLimiter(f.budget.Max, f.budget.Interval)))
	}
	base := firstNonEmpty(f.baseURL, e.getenv("LEADWAY_BASE_URL"))
	if base != "" {
		opts = append(opts, leadway.WithBaseURL(base))
	}
	ic := &importClient{}
	var closeStore func()
	if useStore {
		var mgr *oauth.Manager
		if mgr, closeStore, err = locationManager(e, storeSpec(f.store, e), base, managerOptions(e, g)...); err == nil {
			ic.tokens = mgr
			if ic.Client, err = leadway.NewFromLocationTokens(mgr, opts...); err != nil {
				closeStore()
				err = asUsage(err)
			}
		}
	} else {
		closeStore = func() {}
		if ic.Client, err = leadway.New(token, opts...); err != nil {
			err = asUsage(err)
		}
	}
	if err != nil {
		releaseLimiter()
		return nil, nil, nil, err
	}
	return ic, counter, func() { ic.CloseIdleConnections(); closeStore(); releaseLimiter() }, nil
}

// importClient is the import's client, with the installs it takes its
// tokens from when there are.
type importClient struct {
	*leadway.Client
	tokens leadway.LocationTokenSource // nil: LEADWAY_TOKEN
}

// covers gets a token for every location of the input before anything is
// sent, so that a location no install approves, or an install that must be
// authorized again, stops the import before its first row.
func (c *importClient) covers(ctx context.Context, scan *importer.Scan) error {
	if c.tokens == nil {
		return nil
	}
	for _, loc := range slices.Sorted(maps.Keys(scan.Locations)) {
		if _, err := c.tokens.LocationToken(ctx, loc); err != nil {
			return fmt.Errorf("import: %w; nothing was sent", err)
		}
	}
	return nil
}

// secondSignalCancels returns the context of the run's calls: the first
// SIGINT or SIGTERM (which ends ctx) only stops sending, and calls in
// flight get --drain-timeout; a second one cancels them at once.
func secondSignalCancels(ctx context.Context) (context.Context, func()) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	seen := 0
	if ctx.Err() != nil {
		seen = 1 // the first signal came before Notify
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-runCtx.Done():
			return
		}
		for {
			select {
			case <-sigs:
				if seen++; seen == 2 { // the first is the one that ended ctx
					cancel()
					return
				}
			case <-runCtx.Done():
				return
			}
		}
	}()
	return runCtx, func() { signal.Stop(sigs); cancel() }
}

// failImport prints an import's error and returns its exit code: the
// import's own refusals are usage mistakes, a held journal and local file
// failures have codes of their own.
func failImport(e env, err error) int {
	var (
		header  *importer.HeaderError
		invalid *importer.InvalidRowsError
		changed *importer.ChangedInputError
		read    *importer.ReadError
		locked  *importer.LockedError
		local   *importer.LocalError
	)
	switch {
	case errors.As(err, &locked):
		report(e, fmt.Errorf("import: %w", err))
		return exitLocked
	case errors.As(err, &header), errors.As(err, &invalid), errors.As(err, &changed), errors.As(err, &read),
		errors.Is(err, os.ErrNotExist):
		return fail(e, usageErrorf("import: %v", err))
	case errors.As(err, &local):
		report(e, fmt.Errorf("import: %w (what the journal recorded is kept; run the same command again once this is fixed)", err))
		return exitLocal
	}
	return fail(e, err)
}

// summarize prints where the import ended and returns its exit code.
func summarize(e env, cmd *cobra.Command, path string, s *importer.Summary, f *importFlags) int {
	out := e.stdout
	fmt.Fprintf(out, "%d rows: %d imported, %d failed, %d unknown, %d pending (%d calls this run in %s, %d answered 429)\n",
		s.Total, s.Done, s.Failed, s.Unknown, s.Pending, s.Sent, s.Elapsed.Round(time.Millisecond), s.RateLimited)
	fmt.Fprintf(out, "results: %s\nfailed:  %s\nunknown: %s\njournal: %s\n", s.Results, s.FailedFile, s.UnknownFile, s.Journal)
	resume := resumeCommand(cmd, path)
	switch {
	case s.AuthRefused != nil:
		who := "the token in LEADWAY_TOKEN"
		if f.store != "" || e.getenv("LEADWAY_TOKEN") == "" {
			who = "the stored install's token (leadway auth status; leadway auth login to reconnect)"
		}
		fmt.Fprintf(e.stderr, "leadway: import: the API refused %s: %s\n", who, describeRefusal(s.AuthRefused))
		fmt.Fprintf(e.stderr, "leadway: %d rows pending, none of them judged; with good credentials, go on with:\n  %s\n", s.Pending, resume)
		return exitAuth
	case s.Interrupted:
		fmt.Fprintf(e.stderr, "leadway: import interrupted with %d rows pending; resume with:\n  %s\n", s.Pending, resume)
		return exitInterrupted
	case len(s.Spent) > 0 && s.Pending > 0:
		var last time.Time
		for loc, at := range s.Spent {
			fmt.Fprintf(e.stderr, "leadway: location %s: daily budget used up; its rows wait until about %s\n", loc, at.UTC().Format(time.RFC3339))
			if at.After(last) {
				last = at
			}
		}
		fmt.Fprintf(e.stderr, "leadway: %d rows pending; after %s, go on with:\n  %s\n", s.Pending, last.UTC().Format(time.RFC3339), resume)
		return exitRateLimited
	case s.Pending > 0:
		fmt.Fprintf(e.stderr, "leadway: %d rows pending (rate limited); go on with:\n  %s\n", s.Pending, resume)
		return exitRateLimited
	case s.Unknown > 0:
		fmt.Fprintf(e.stderr, "leadway: %d rows may have been created: look them up before sending them again (%s)\n", s.Unknown, s.UnknownFile)
		return exitUnavailable
	case s.Failed > 0:
		fmt.Fprintf(e.stderr, "leadway: %d rows failed: fix %s and import it\n", s.Failed, s.FailedFile)
		return exitAPI
	}
	return exitOK
}

// describeRefusal is a refusal's message on one line, without the
// "leadway: " prefix.
func describeRefusal(err error) string {
	return strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), "leadway: ")
}
