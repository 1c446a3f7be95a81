package main

import (
	"github.com/leadwaycrm/leadway"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A shared rate budget, for several processes or a bulk job beside a live
// service. redis.go fills these in for --redis; without it the client's own
// limiter keeps this process alone under the budget.
var (
	// addSharedLimiterFlags adds the flags that choose a shared budget.
	addSharedLimiterFlags = func(fs *pflag.FlagSet) {}
	// sharedLimiterOptions returns the client options of the shared budget
	// the flags chose, and a function that releases it.
	sharedLimiterOptions = func(cmd *cobra.Command) ([]leadway.Option, func(), error) {
		return nil, func() {}, nil
	}
)
