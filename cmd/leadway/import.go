package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/internal/importer"
	"github.com/leadwaycrm/leadway/redislimit"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// exitInterrupted is import's code for a run stopped by SIGINT or SIGTERM:
// rerun the printed command to resume.
const exitInterrupted = 6

const importLong = `Imports opportunities from FILE: CSV with a header row of the request's JSON
field names (pipelineId, locationId, name, status, monetaryValue, ...), or
JSON Lines with one request object per line. The format comes from the
extension (.csv, .jsonl, .ndjson) or --format.

In CSV, followers is one column of IDs separated by ";", and a JSON-valued
field is a JSON column. Columns the request does not have are refused by
name unless --map COLUMN=FIELD maps them; columns starting with "_" are
ignored (the failed and unknown files add such columns). --pipeline-id,
--location-id and --default FIELD=VALUE fill fields a row leaves empty.

Every row is checked first, with the client's own validation; invalid rows
are listed with their line and field, and nothing is sent. --dry-run prints
the plan: rows and calls per location and the time under the burst budget
and the daily cap.

A journal next to FILE (FILE.journal; its path is printed) records each row
before it is sent and after. Running the same command again resumes: rows
done are skipped, rows with an id are retried, and a row without an id that
may have reached the server is never sent again: it goes to the unknown file.
A changed FILE is refused; --restart starts over.

When a run completes every row is in exactly one of three files next to
FILE: NAME.results.csv (row, line, opportunity id, created or updated),
NAME.failed.EXT (the row as it was plus _error and _status; fix and import
it as it is) and NAME.unknown.EXT (rows to look up before sending again).

Progress goes to stderr: a bar on a terminal, a line every
--progress-interval otherwise. SIGINT or SIGTERM stops sending, lets calls in
flight finish (at most --drain-timeout; a second signal cancels them at
once), and prints the command that resumes.
A location whose daily budget runs out stops; its rows wait for a rerun.

Exit codes: 0 every row imported, 2 usage or invalid rows (nothing sent),
3 some rows failed, 4 a daily budget ran out (rows pending), 5 some rows
have an unknown outcome, 6 interrupted.`

// importFlags holds the import command's flags.
type importFlags struct {
	format, journal, baseURL       string
	pipelineID, locationID         string
	defaults, maps                 []string
	dryRun, restart                bool
	maxRetries, perLocation        int
	drainTimeout, progressInterval time.Duration
	budget                         importer.Budget
}

func newImportCmd(e env, g *globalFlags) *cobra.Command {
	f := &importFlags{}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import opportunities from a CSV or JSON Lines file, resumably",
		Long:  importLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(runImport(cmd.Context(), cmd, args[0], f, g, e))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.format, "format", "", "input `format`: csv or jsonl (default: from the extension)")
	fs.StringVar(&f.pipelineID, "pipeline-id", "", "pipeline `ID` for rows that have none")
	fs.StringVar(&f.locationID, "location-id", "", "location `ID` for rows that have none")
	fs.StringArrayVar(&f.defaults, "default", nil, "`FIELD=VALUE`: fill FIELD with VALUE where a row leaves it empty; repeat for several")
	fs.StringArrayVar(&f.maps, "map", nil, "`COLUMN=FIELD`: read COLUMN as the request's FIELD; repeat for several")
	fs.StringVar(&f.journal, "journal", "", "journal `path` (default FILE.journal)")
	fs.BoolVar(&f.restart, "restart", false, "discard the journal and start over")
	fs.BoolVar(&f.dryRun, "dry-run", false, "check every row and print the plan; send nothing")
	fs.StringVar(&f.baseURL, "base-url", "", "API base `URL` (default $LEADWAY_BASE_URL, else "+leadway.DefaultBaseURL+")")
	fs.IntVar(&f.maxRetries, "max-retries", leadway.DefaultMaxRetries, "retries per call after 429, 503 and other safe-to-repeat failures (502 and 504 only for rows with an id)")
	fs.IntVar(&f.perLocation, "per-location", leadway.DefaultBulkPerLocation, "calls in flight per location")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "after SIGINT or SIGTERM, how long calls in flight may take")
	fs.DurationVar(&f.progressInterval, "progress-interval", 10*time.Second, "time between progress lines when stderr is not a terminal")
	fs.IntVar(&f.budget.Max, "rate-max", 100, "the app's requests per window and location, for the plan and, when set, the limiter")
	fs.DurationVar(&f.budget.Interval, "rate-interval", 10*time.Second, "the app's rate window, for the plan and, when set, the limiter")
	fs.IntVar(&f.budget.Daily, "daily-limit", 200_000, "for the plan: requests per day and location")
	addSharedLimiterFlags(fs)
	return cmd
}

func (f *importFlags) spec(path string) (importer.Spec, error) {
	format, err := importer.DetectFormat(path, f.format)
	if err != nil {
		return importer.Spec{}, usageErrorf("import: %v", err)
	}
	spec := importer.Spec{Format: format, Defaults: map[string]string{}, Map: map[string]string{}}
	for _, kv := range f.defaults {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return spec, usageErrorf("import: --default %q: want FIELD=VALUE", kv)
		}
		spec.Defaults[k] = v
	}
	if f.pipelineID != "" {
		spec.Defaults["pipelineId"] = f.pipelineID
	}
	if f.locationID != "" {
		spec.Defaults["locationId"] = f.locationID
	}
	for _, kv := range f.maps {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return spec, usageErrorf("import: --map %q: want COLUMN=FIELD", kv)
		}
		spec.Map[k] = v
	}
	if err := spec.Check(); err != nil {
		return spec, usageErrorf("import: %v", err)
	}
	return spec, nil
}

func runImport(ctx context.Context, cmd *cobra.Command, path string, f *importFlags, g *globalFlags, e env) int {
	spec, err := f.spec(path)
	if err != nil {
		return fail(e, err)
	}
	if f.perLocation < 1 || f.drainTimeout < 0 || f.budget.Max < 1 || f.budget.Interval <= 0 || f.budget.Daily < 1 {
		return fail(e, usageErrorf("import: --per-location, --rate-max, --rate-interval and --daily-limit must be positive, --drain-timeout not negative"))
	}
	cfg := &importer.Config{
		Input:        path,
		Spec:         spec,
		Journal:      f.journal,
		Restart:      f.restart,
		PerLocation:  f.perLocation,
		Stop:         ctx.Done(),
		DrainTimeout: f.drainTimeout,
		Invalid: func(row *importer.Row) {
			fmt.Fprintf(e.stderr, "%s:%d: row %d: %v\n", path, row.Line, row.Num, row.Err)
		},
	}
	token := e.getenv("LEADWAY_TOKEN")
	if token == "" && !f.dryRun {
		return fail(e, usageErrorf("LEADWAY_TOKEN is not set: export the API token there (it is never taken from a flag)"))
	}
	scan, err := importer.Check(cfg)
	if err != nil {
		return fail(e, importError(err))
	}
	if f.dryRun {
		done, err := importer.Done(cfg, scan)
		if err != nil {
			return fail(e, importError(err))
		}
		importer.WritePlan(e.stdout, cfg, scan, f.budget, done)
		return exitOK
	}

	counter := &importer.Transport{Base: baseTransport()}
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
	shared, release, err := sharedLimiterOptions(cmd, budget...)
	if err != nil {
		return fail(e, err)
	}
	defer release()
	switch {
	case len(shared) > 0:
		opts = append(opts, shared...)
	case told:
		opts = append(opts, leadway.WithRateLimiter(leadway.NewLimiter(f.budget.Max, f.budget.Interval)))
	}
	if base := firstNonEmpty(f.baseURL, e.getenv("LEADWAY_BASE_URL")); base != "" {
		opts = append(opts, leadway.WithBaseURL(base))
	}
	client, err := leadway.New(token, opts...)
	if err != nil {
		return fail(e, asUsage(err))
	}
	defer client.CloseIdleConnections()

	journal := f.journal
	if journal == "" {
		journal = path + ".journal"
	}
	fmt.Fprintf(e.stderr, "leadway: import: %d rows in %s; journal %s\n", scan.Rows, path, journal)
	prog := newProgress(e.stderr, scan.Rows, f.progressInterval)
	cfg.Progress = prog.update
	// The first signal only stops sending: calls in flight get
	// --drain-timeout. A second one cancels them at once.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
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
	sum, err := importer.Run(runCtx, client, cfg, scan, counter)
	prog.finish()
	if err != nil {
		return fail(e, importError(err))
	}
	return summarize(e, cmd, path, sum)
}

// importError marks the import's own refusals as usage mistakes.
func importError(err error) error {
	var (
		header  *importer.HeaderError
		invalid *importer.InvalidRowsError
		changed *importer.ChangedInputError
		read    *importer.ReadError
	)
	switch {
	case errors.As(err, &header), errors.As(err, &invalid), errors.As(err, &changed), errors.As(err, &read),
		errors.Is(err, os.ErrNotExist):
		return usageErrorf("import: %v", err)
	}
	return err
}

// summarize prints where the import ended and returns its exit code.
func summarize(e env, cmd *cobra.Command, path string, s *importer.Summary) int {
	out := e.stdout
	fmt.Fprintf(out, "%d rows: %d imported, %d failed, %d unknown, %d pending (%d calls this run in %s, %d answered 429)\n",
		s.Total, s.Done, s.Failed, s.Unknown, s.Pending, s.Sent, s.Elapsed.Round(time.Millisecond), s.RateLimited)
	fmt.Fprintf(out, "results: %s\nfailed:  %s\nunknown: %s\njournal: %s\n", s.Results, s.FailedFile, s.UnknownFile, s.Journal)
	resume := resumeCommand(cmd, path)
	switch {
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

// resumeCommand is the command line that takes this import up again: the
// same file and flags, less --restart.
func resumeCommand(cmd *cobra.Command, path string) string {
	parts := []string{"leadway", "import"}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name == "restart" || fl.Name == "dry-run" {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+fl.Name, shellQuote(v))
			}
			return
		}
		if fl.Value.Type() == "bool" {
			parts = append(parts, "--"+fl.Name+"="+fl.Value.String())
			return
		}
		v := fl.Value.String()
		if fl.Name == "redis" {
			// Its password must not reach a terminal or a log; the user
			// fills it in again.
			v = redactedURL(v)
		}
		parts = append(parts, "--"+fl.Name, shellQuote(v))
	})
	return strings.Join(append(parts, shellQuote(path)), " ")
}

// baseTransport is a copy of http.DefaultTransport for the import's own
// connection pool, or DefaultTransport itself when something replaced it
// with another kind of RoundTripper.
func baseTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return http.DefaultTransport
}

// redactedURL hides a URL's password, as url.URL.Redacted does, and gives
// nothing of a URL it cannot parse.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "REDACTED"
	}
	return u.Redacted()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// progress shows where the import stands on stderr: a bar on a terminal, a
// line every interval otherwise.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	bar      *progressbar.ProgressBar
	total    int
	interval time.Duration
	last     time.Time
	latest   importer.Progress
}

func newProgress(w io.Writer, total int, interval time.Duration) *progress {
	p := &progress{w: w, total: total, interval: interval, last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	return p
}

func (p *progress) update(s importer.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest = s
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%d failed, %d unknown, %d×429, daily left %s", s.Failed, s.Unknown, s.RateLimited, left(s.DailyLeft)))
		_ = p.bar.Set(s.Finished())
		return
	}
	if time.Since(p.last) >= p.interval {
		p.last = time.Now()
		p.line(s)
	}
}

func (p *progress) line(s importer.Progress) {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Sent) / s.Elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-s.Finished())/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "leadway: import: %d/%d rows (%d%%), %.1f rows/s, ETA %s, %d failed, %d unknown, %d answered 429, daily budget left %s\n",
		s.Finished(), p.total, 100*s.Finished()/max(p.total, 1), rate, eta, s.Failed, s.Unknown, s.RateLimited, left(s.DailyLeft))
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

func left(n int) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}
