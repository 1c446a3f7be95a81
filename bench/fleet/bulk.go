package main

import (
	"context"
	"fmt"
	"net/http"
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

// importLikeTransport is the transport leadway import sends through: a
// copy of net/http's default transport keeping a connection for each call
// in flight, wrapped in a RoundTripper of its own as the import's is.
func importLikeTransport(inFlight int) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = inFlight
	t.MaxIdleConns = max(t.MaxIdleConns, inFlight)
	return passThrough{t}
}

// passThrough sends each request through its base unchanged.
type passThrough struct{ base http.RoundTripper }

func (p passThrough) RoundTrip(req *http.Request) (*http.Response, error) {
	return p.base.RoundTrip(req)
}
