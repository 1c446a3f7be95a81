package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/internal/redistest"
	"github.com/leadwaycrm/leadway/leadwaytest"
)

// TestImportSharesItsBudgetThroughRedis runs two imports of one location at
// once, each its own process, through a real Redis: the budget they were
// given is shared, so the fake, whose budget it is, answers no 429.
func TestImportSharesItsBudgetThroughRedis(t *testing.T) {
	rs := redistest.Start(t)
	srv := startFake(t, leadwaytest.WithRateLimit(4, time.Second))
	url := "redis://" + rs.Addr() + "/0"
	args := func(path string) []string {
		return []string{"import", path, "--pipeline-id", "pipe-1", "--rate-max", "4", "--rate-interval", "1s",
			"--redis", url, "--redis-prefix", "cli-test:", "--max-retries", "0"}
	}
	a, b := writeDeals(t, 6, 1), writeDeals(t, 6, 1)
	done := make(chan result, 1)
	go func() { done <- runCLI(t, fakeEnv(srv), "", args(a)...) }()
	rb := runCLI(t, fakeEnv(srv), "", args(b)...)
	ra := <-done
	for _, r := range []result{ra, rb} {
		if r.code != exitOK {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	}
	if st := srv.Stats(); st.Created != 12 || st.RateLimited != 0 {
		t.Errorf("fake stats %+v, want 12 created and no 429", st)
	}
	keys, err := rs.Client(t).Keys(context.Background(), "cli-test:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "cli-test:{loc-0}") }) {
		t.Errorf("Redis holds %q, want the location's keys under the prefix", keys)
	}
}

func TestRedisURLIsCheckedWithoutEchoingIt(t *testing.T) {
	srv := startFake(t)
	r := runCLI(t, fakeEnv(srv), "", "upsert", "--pipeline-id", "p", "--location-id", "l", "--redis", "http://:s3cret@host")
	if r.code != exitUsage || strings.Contains(r.stderr, "s3cret") || !strings.Contains(r.stderr, "--redis: not a redis:// or rediss:// URL") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
