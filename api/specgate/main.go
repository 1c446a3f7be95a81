// Command specgate is the breaking-change gate of api/openapi.yaml.
//
// It compares the spec with the last released one (api/released/openapi.yaml)
// using oasdiff, and fails when the spec breaks existing clients, unless
// info.version has a new major version and api/CHANGELOG.md has a heading for
// it. It lives in its own module so that oasdiff stays out of the client's
// go.mod.
//
//	cd api/specgate && go run . -base ../released/openapi.yaml -revision ../openapi.yaml -changelog ../CHANGELOG.md
//
// Exit status: 0 when the gate passes, 1 when it fails, 2 on a usage or load error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("specgate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	basePath := flags.String("base", "../released/openapi.yaml", "the released spec")
	revisionPath := flags.String("revision", "../openapi.yaml", "the spec to release")
	changelogPath := flags.String("changelog", "../CHANGELOG.md", "the changelog that must name a new major version")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "specgate: unexpected arguments %q\n", flags.Args())
		return 2
	}

	base, err := LoadSpec(*basePath)
	if err != nil {
		fmt.Fprintf(stderr, "specgate: %v\n", err)
		return 2
	}
	revision, err := LoadSpec(*revisionPath)
	if err != nil {
		fmt.Fprintf(stderr, "specgate: %v\n", err)
		return 2
	}
	changelog, err := os.ReadFile(*changelogPath)
	if err != nil {
		fmt.Fprintf(stderr, "specgate: %v\n", err)
		return 2
	}

	verdict, err := Check(base, revision, changelog)
	if err != nil {
		fmt.Fprintf(stderr, "specgate: %v\n", err)
		return 2
	}
	verdict.Write(stdout)
	if !verdict.Pass {
		return 1
	}
	return 0
}
