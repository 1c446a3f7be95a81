// Command leadway creates or updates opportunities in Leadway CRM from the
// shell, imports many of them from a file, and runs a fake Leadway API for
// trying things out without an account.
//
//	leadway upsert --pipeline-id P --location-id L --name "Website redesign"
//	leadway import deals.csv
//	leadway fake --addr 127.0.0.1:8080
//	leadway demo
//
// Run "leadway --help" for the commands, the environment and the exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/leadwaycrm/leadway"
	"github.com/spf13/cobra"
)

// env is what a command may touch of the outside world, so that tests and
// main hand in their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{os.Stdin, os.Stdout, os.Stderr, os.Getenv})
	stop()
	os.Exit(code)
}

// exitStatus carries a command's exit code through cobra, after the command
// has reported what went wrong.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// status turns an exit code into the error cobra passes back to run.
func status(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitStatus{code: code}
}

// run parses args, runs the command they name and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if u := unknownCommand(root, args, err); u != nil {
		err = u
	}
	var (
		st    *exitStatus
		usage *usageError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return st.code
	case errors.As(err, &usage):
		return fail(e, err)
	}
	// What cobra refuses (unknown commands, flags or arguments) is a usage
	// mistake.
	return fail(e, usageErrorf("%v", err))
}

// globalFlags are the flags every command takes.
type globalFlags struct {
	verbose bool
}

// logger returns the client's logger for --verbose: retries, waits and
// every attempt, on stderr. It is nil otherwise.
func (g *globalFlags) logger(e env) *slog.Logger {
	if !g.verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// clientOptions returns the options --verbose asks for.
func (g *globalFlags) clientOptions(e env) []leadway.Option {
	if l := g.logger(e); l != nil {
		return []leadway.Option{leadway.WithLogger(l)}
	}
	return nil
}

func newRootCmd(e env) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "leadway",
		Short:         "Create or update opportunities in Leadway CRM",
		Long:          rootLong,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// No command is a usage mistake, not a request for help.
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(e.stderr, cmd.UsageString())
			return status(exitUsage)
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("leadway {{.Version}}\n")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log every attempt, retry and wait on stderr")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newUpsertCmd(e, g),
		newImportCmd(e, g),
		newFakeCmd(e),
		newWebhookCmd(e),
		newDemoCmd(e, g),
		newAuthCmd(e, g),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, args []string) {
				fmt.Fprintf(e.stdout, "leadway %s\n", version())
			},
		},
	)
	return root
}

const rootLong = `leadway creates or updates opportunities in Leadway CRM.

Run "leadway help COMMAND" or "leadway COMMAND --help" for a command's flags.

Environment:
  LEADWAY_TOKEN      the API token: a sub-account Private Integration token or an
                     OAuth access token with the opportunities.write scope. Only
                     read from here, never from a flag, so it stays out of shell
                     history and process lists.
  LEADWAY_BASE_URL   the API's base URL (default https://services.leadconnectorhq.com);
                     --base-url overrides it.
  LEADWAY_CLIENT_ID, LEADWAY_CLIENT_SECRET
                     a Marketplace app's credentials, for leadway auth and --store;
                     the secret is only read from here.
  LEADWAY_STORE      where OAuth installs are kept (see leadway auth); --store
                     overrides it.
  LEADWAY_AUTH_URL   the authorization page (default the Marketplace's).
  BROWSER            the command leadway auth login opens the authorization URL with.

Exit codes:
  0  success
  1  another failure: the fake, the demo or the webhook listener could not run
  2  usage or validation: bad flags, bad JSON input, LEADWAY_TOKEN missing, or a
     request the contract forbids (nothing was sent)
  3  the API refused the request with a 4xx status other than 429; for import:
     some rows failed (see the failed file); for OAuth: the install must be
     authorized again, or the authorization or app credentials were refused
  4  rate limited (429): the burst window or the daily budget is used up; for
     import: a location's daily budget ran out and its rows wait for a rerun
  5  network or server trouble: a 5xx, a timeout, a dropped connection or an
     unusable answer; without --id the upsert may have been applied; for
     import: some rows have an unknown outcome (see the unknown file)
  6  import interrupted (SIGINT or SIGTERM): rerun the printed command to resume`
