// Command fleet is one process of the fleet benchmark that bench/run.sh
// starts several of: workers upserting to one location of a fake, sharing
// the budget through Redis (-redis) or each with the client's default
// limiter. It prints "done <unix ns>" for each call that returned, "down
// <unix ns>" and "back <unix ns>" when the limiter leaves Redis and returns
// to it, and a final "summary calls=N errors=E".
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/redislimit"
	"github.com/redis/go-redis/v9"
)

func main() {
	url := flag.String("url", "", "base URL of the fake")
	token := flag.String("token", "", "the fake's token")
	redisAddr := flag.String("redis", "", "Redis address; empty: the default in-process limiter")
	prefix := flag.String("prefix", "bench:", "Redis key prefix")
	location := flag.String("location", "fleet-loc", "the location every call upserts to")
	workers := flag.Int("workers", 16, "concurrent callers")
	calls := flag.Int("calls", 100, "calls in all, shared by the workers")
	max := flag.Int("max", 100, "the shared budget: requests per interval")
	interval := flag.Duration("interval", time.Second, "the shared budget's window")
	share := flag.Float64("share", 0.25, "the fallback's share of the budget")
	flag.Parse()

	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	emit := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		outMu.Unlock()
	}
	opts := []leadway.Option{leadway.WithBaseURL(*url)}
	stopWatch := func() {}
	if *redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
		lim := redislimit.New(rdb, redislimit.WithPrefix(*prefix), redislimit.WithBudget(*max, *interval),
			redislimit.WithFallbackShare(*share), redislimit.WithLogger(slog.New(slog.DiscardHandler)))
		opts = append(opts, leadway.WithRateLimiter(lim))
		// Watch the switches to and from the fallback.
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
					emit("%s %d", word, time.Now().UnixNano())
				}
			}
		})
		stopWatch = func() { close(done); watched.Wait() }
	}
	c, err := leadway.New(*token, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	var next, failed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for {
				mu.Lock()
				next++
				i := next
				mu.Unlock()
				if i > *calls {
					return
				}
				req := leadway.UpsertRequest{PipelineId: "pipe-1", LocationId: *location, Name: leadway.Ptr(fmt.Sprint("deal ", i))}
				if _, err := c.Upsert(context.Background(), req); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					fmt.Fprintln(os.Stderr, "fleet:", err)
				}
				emit("done %d", time.Now().UnixNano())
			}
		})
	}
	wg.Wait()
	stopWatch()
	c.CloseIdleConnections()
	emit("summary calls=%d errors=%d", *calls, failed)
	out.Flush()
}
