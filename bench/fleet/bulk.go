package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/leadwaycrm/leadway"
)

// upsertBulk makes the calls through Client.UpsertAll, the request for
// call i being what leadway import sends for row i of the import
// benchmark's file, and returns how many failed.
func upsertBulk(c *leadway.Client, f flags, e *emitter) (failed int) {
	reqs := func(yield func(leadway.UpsertRequest) bool) {
		for i := 1; i <= f.calls; i++ {
			req := leadway.UpsertRequest{
				PipelineId:    "pipe-1",
				LocationId:    fmt.Sprint("loc-", i%f.locations),
				Name:          leadway.Ptr(fmt.Sprint("Deal ", i)),
				MonetaryValue: leadway.Ptr(float64(i)),
				Status:        leadway.Ptr(leadway.StatusOpen),
			}
			if !yield(req) {
				return
			}
		}
	}
	for res := range c.UpsertAll(context.Background(), reqs, nil) {
		if res.Err != nil {
			failed++
			fmt.Fprintln(os.Stderr, "fleet:", res.Err)
		}
		e.emit("done %d", time.Now().UnixNano())
	}
	return failed
}
