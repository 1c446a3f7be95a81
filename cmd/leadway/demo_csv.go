package main

import (
	"fmt"
	"os"
	"strings"
)

// sampleDeals is the file demo --write-csv writes: a dozen deals over two
// locations, in the columns import reads, the pipeline left to
// --pipeline-id.
var sampleDeals = strings.Join([]string{
	"name,locationId,monetaryValue,status",
	"Website redesign,loc-1,2500,open",
	"Support plan,loc-2,1200,open",
	"Brand workshop,loc-1,3000,open",
	"SEO audit,loc-2,900,won",
	"Mobile app,loc-1,18000,open",
	"Newsletter setup,loc-2,400,open",
	"Landing pages,loc-1,1600,open",
	"Analytics review,loc-2,750,lost",
	"Photo shoot,loc-1,1100,open",
	"Hosting renewal,loc-2,300,won",
	"Copywriting,loc-1,850,open",
	"Training day,loc-2,1400,open",
}, "\n") + "\n"

// writeSampleDeals writes the sample file to path, never over a file
// that exists.
func writeSampleDeals(e env, path string) int {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fail(e, usageErrorf("demo: --write-csv: %v", err))
	}
	_, err = f.WriteString(sampleDeals)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		report(e, err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "wrote %s: 12 deals over 2 locations; import them with:\n  leadway import %s --pipeline-id pipe-1\n", path, shellQuote(path))
	return exitOK
}
