package main

import (
	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The --redis flags choose a rate budget shared through Redis, for several
// processes or a bulk job beside a live service. One command runs per
// process, so upsert and import share these variables.
var redisURL, redisPrefix string

// addSharedLimiterFlags adds the flags that choose a shared budget.
func addSharedLimiterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&redisURL, "redis", "", "share the rate budget with other processes through Redis at `URL` (redis://[:password@]host:port/db)")
	fs.StringVar(&redisPrefix, "redis-prefix", "", "key `prefix` of the shared budget in Redis, for example one per app (default "+redislimit.DefaultPrefix+")")
}

// sharedLimiterOptions returns the client options of the shared budget the
// flags chose, built with opts, and a function that releases it. Without
// --redis the client's own limiter keeps this process alone under the budget.
func sharedLimiterOptions(cmd *cobra.Command, opts ...redislimit.Option) ([]leadway.Option, func(), error) {
	if redisURL == "" {
		if redisPrefix != "" {
			return nil, nil, usageErrorf("%s: --redis-prefix needs --redis", cmd.Name())
		}
		return nil, func() {}, nil
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		// The URL may hold a password: never echo it.
		return nil, nil, usageErrorf("%s: --redis: not a redis:// or rediss:// URL", cmd.Name())
	}
	rdb := redis.NewClient(opt)
	if redisPrefix != "" {
		opts = append(opts, redislimit.WithPrefix(redisPrefix))
	}
	lim := redislimit.New(rdb, opts...)
	return []leadway.Option{leadway.WithRateLimiter(lim)}, func() { _ = rdb.Close() }, nil
}
