// Command leadway creates or updates opportunities in Leadway CRM from the
// shell, and runs a fake Leadway API for trying things out without an
// account.
//
//	leadway upsert --pipeline-id P --location-id L --name "Website redesign"
//	leadway fake --addr 127.0.0.1:8080
//	leadway demo
//
// Run "leadway --help" for the commands, the environment and the exit codes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
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

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "upsert":
		return runUpsert(ctx, args[1:], e)
	case "fake":
		return runFake(ctx, args[1:], e)
	case "demo":
		return runDemo(ctx, args[1:], e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	return fail(e, usageErrorf("unknown command %q (run leadway --help)", args[0]))
}

const usage = `leadway creates or updates opportunities in Leadway CRM.

Usage:
  leadway upsert [flags]   create or update an opportunity; prints the API's answer as JSON
  leadway fake [flags]     run a fake Leadway API on this machine until interrupted
  leadway demo             create and update an opportunity against an in-process fake
  leadway help             show this help

Run "leadway COMMAND --help" for a command's flags.

Environment:
  LEADWAY_TOKEN      the API token: a sub-account Private Integration token or an
                     OAuth access token with the opportunities.write scope. Only
                     read from here, never from a flag, so it stays out of shell
                     history and process lists.
  LEADWAY_BASE_URL   the API's base URL (default https://services.leadconnectorhq.com);
                     --base-url overrides it.

Exit codes:
  0  success
  1  another failure: the fake or the demo could not run
  2  usage or validation: bad flags, bad JSON input, LEADWAY_TOKEN missing, or a
     request the contract forbids (nothing was sent)
  3  the API refused the request with a 4xx status other than 429
  4  rate limited (429): the burst window or the daily budget is used up
  5  network or server trouble: a 5xx, a timeout, a dropped connection or an
     unusable answer; without --id the upsert may have been applied
`
