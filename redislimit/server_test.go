package redislimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// startRedis starts a real redis-server for the test and stops it when the
// test ends.
func startRedis(t testing.TB) *redistest.Server { return redistest.Start(t) }

// uniquePrefix keeps tests that share a server apart.
func uniquePrefix(t testing.TB) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
}

// redisClient returns a client of addr with go-redis's defaults.
func redisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr})
}
