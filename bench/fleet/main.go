// Command fleet is one process of the fleet benchmark that bench/run.sh
// starts several of: workers upserting to one location of a fake, sharing
// the budget through Redis (-redis) or each with the client's default
// limiter. It prints "done <unix ns>" for each call that returned, "down
// <unix ns>" and "back <unix ns>" when the limiter leaves Redis and returns
// to it, and a final "summary calls=N errors=E".
//
// With -bulk it is instead the client doing what leadway import does,
// without the import: Client.UpsertAll over -locations locations, the
// import benchmark's rows as requests, through a connection pool sized for
// the calls in flight. It is the baseline of the import's CPU per row.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/internal/importer"
	"github.com/leadwaycrm/leadway/redislimit"
	"github.com/redis/go-redis/v9"
)

// flags are the fleet member's settings.
type flags struct {
	url, token, redisAddr, prefix, location string
	workers, calls, max, locations          int
	interval                                time.Duration
	share                                   float64
	bulk                                    bool
}

func parseFlags() flags {
	var f flags
	flag.StringVar(&f.url, "url", "", "base URL of the fake")
	flag.StringVar(&f.token, "token", "", "the fake's token")
	flag.StringVar(&f.redisAddr, "redis", "", "Redis address; empty: the default in-process limiter")
	flag.StringVar(&f.prefix, "prefix", "bench:", "Redis key prefix")
	flag.StringVar(&f.location, "location", "fleet-loc", "the location every call upserts to")
	flag.IntVar(&f.workers, "workers", 16, "concurrent callers")
	flag.IntVar(&f.calls, "calls", 100, "calls in all, shared by the workers")
	flag.IntVar(&f.max, "max", 100, "the shared budget: requests per interval")
	flag.DurationVar(&f.interval, "interval", time.Second, "the shared budget's window")
	flag.Float64Var(&f.share, "share", 0.25, "the fallback's share of the budget")
	flag.BoolVar(&f.bulk, "bulk", false, "send through Client.UpsertAll over -locations locations, as leadway import does")
	flag.IntVar(&f.locations, "locations", 100, "with -bulk: the locations the calls are spread over")
	flag.Parse()
	return f
}

// emitter writes the member's event lines to stdout, one at a time.
type emitter struct {
	mu  sync.Mutex
	out *bufio.Writer
}

func (e *emitter) emit(format string, args ...any) {
	e.mu.Lock()
	fmt.Fprintf(e.out, format+"\n", args...)
	e.mu.Unlock()
}

func main() {
	f := parseFlags()
	e := &emitter{out: bufio.NewWriter(os.Stdout)}
	opts := []leadway.Option{leadway.WithBaseURL(f.url)}
	stopWatch := func() {}
	if f.redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: f.redisAddr})
		defer rdb.Close()
		lim := redislimit.New(rdb, redislimit.WithPrefix(f.prefix), redislimit.WithBudget(f.max, f.interval),
			redislimit.WithFallbackShare(f.share), redislimit.WithLogger(slog.New(slog.DiscardHandler)))
		opts = append(opts, leadway.WithRateLimiter(lim))
		stopWatch = watchSwitches(lim, e)
	}
	if f.bulk {
		opts = append(opts, leadway.WithHTTPClient(&http.Client{
			// The import's own transport and pool, sized for its calls in flight.
			Transport: &importer.Transport{Base: importer.BaseTransport(f.locations * leadway.DefaultBulkPerLocation)},
		}))
	}
	c, err := leadway.New(f.token, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	upsert := upsertAll
	if f.bulk {
		upsert = upsertBulk
	}
	failed := upsert(c, f, e)
	stopWatch()
	c.CloseIdleConnections()
	e.emit("summary calls=%d errors=%d", f.calls, failed)
	e.out.Flush()
}

// watchSwitches emits a line at each switch of lim to and from its
// fallback, and returns the function that stops watching.
func watchSwitches(lim *redislimit.Limiter, e *emitter) (stop func()) {
	done := make(chan struct{})
	var watched sync.WaitGroup
	watched.Go(func() {
		down := false
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if f := lim.Fallback(); f != down {
				down = f
				word := "back"
				if f {
					word = "down"
				}
				e.emit("%s %d", word, time.Now().UnixNano())
			}
		}
	})
	return func() { close(done); watched.Wait() }
}

// upsertAll makes the member's calls from its workers, emitting a line as
// each ends, and returns how many failed.
func upsertAll(c *leadway.Client, f flags, e *emitter) (failed int) {
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range f.workers {
		wg.Go(func() {
			for {
				mu.Lock()
				next++
				i := next
				mu.Unlock()
				if i > f.calls {
					return
				}
				req := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: f.location, Name: leadway.Ptr(fmt.Sprint("deal ", i))}
				if _, err := c.Upsert(context.Background(), req); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					fmt.Fprintln(os.Stderr, "fleet:", err)
				}
				e.emit("done %d", time.Now().UnixNano())
			}
		})
	}
	wg.Wait()
	return failed
}
