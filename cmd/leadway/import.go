package main

import (
	"strings"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/internal/importer"
	"github.com/spf13/cobra"
)

// Exit codes of import beyond the shared ones (exitcode.go), one per
// situation a script handles differently.
const (
	// exitInterrupted: stopped by SIGINT or SIGTERM; rerun the printed
	// command to resume.
	exitInterrupted = 6
	// exitLocal: this machine's files failed (the journal, the outputs, a
	// full disk); nothing recorded is lost, and a rerun goes on.
	exitLocal = 7
	// exitLocked: another import holds the journal; nothing was sent.
	exitLocked = 8
	// exitAuth: the API refused the credentials; the rows are pending.
	exitAuth = 9
)

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
FILE (or in --output-dir): NAME.results.csv (row, line, opportunity id,
created or updated), NAME.failed.EXT (the row as it was plus _error and
_status; fix and import it as it is) and NAME.unknown.EXT (rows to look up
before sending again). One run at a time holds the journal (FILE.journal.lock,
released by the OS when the process ends); a second is refused before it
sends anything.

Progress goes to stderr: a bar on a terminal, a line every
--progress-interval otherwise. SIGINT or SIGTERM stops sending, lets calls in
flight finish (at most --drain-timeout; a second signal cancels them at
once), and prints the command that resumes.
A location whose daily budget runs out stops; its rows wait for a rerun. A
401 or 403 stops the whole run: the credentials, not the rows, were refused,
and the rows wait for a rerun with good ones.

Exit codes:
  0  every row imported
  2  usage, or invalid rows (nothing sent)
  3  some rows failed: fix the failed file and import it
  4  rate limited: a daily budget ran out, or 429s went on; rows pending
  5  some rows have an unknown outcome: look them up before sending again
  6  interrupted (SIGINT or SIGTERM): run the printed command to resume
  7  a local file failed (journal, outputs, disk full or read-only)
  8  another import holds the journal: nothing was sent
  9  the API refused the credentials (401 or 403): rows pending`

// importFlags holds the import command's flags.
type importFlags struct {
	format, journal, baseURL       string
	outputDir, store               string
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
	fs.StringVar(&f.outputDir, "output-dir", "", "`directory` for the results, failed and unknown files (default: FILE's)")
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
	addStoreFlag(fs, &f.store, "take each row's token from the OAuth installs kept here (see leadway auth), by its locationId")
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
