package main

import (
	"github.com/leadwaycrm/leadway"
	"github.com/spf13/cobra"
)

// sharedLimiterOptions returns the client options of a shared rate budget
// for cmd, when one was asked for; redis.go adds them for --redis.
var sharedLimiterOptions = func(cmd *cobra.Command) []leadway.Option { return nil }
