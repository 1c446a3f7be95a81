package redislimit_test

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/redislimit"
)

const envWaiter = "REDISLIMIT_WAITING_MEMBER"

// A process with 300 callers waiting on one location is killed: its unsent
// bookings lapse with their leases, and a fresh process's first call waits
// at most 2 windows, not the 60 windows those bookings held.
func TestBookingsOfADeadProcessLapse(t *testing.T) {
	if os.Getenv(envWaiter) != "" {
		t.Skip("a waiting member runs TestWaitingMember only")
	}
	rs := startRedis(t)
	rdb := rs.Client(t)
	prefix := uniquePrefix(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWaitingMember$", "-test.count=1")
	cmd.Env = append(os.Environ(), envWaiter+"=1", envRedis+"="+rs.Addr(), envPrefix+"="+prefix)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logKey := prefix + "{loc-1}:log"
	for deadline := time.Now().Add(20 * time.Second); rdb.ZCard(context.Background(), logKey).Val() < 305; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the member booked %d of 305 slots", rdb.ZCard(context.Background(), logKey).Val())
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	fresh := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithBudget(5, time.Second))
	start := time.Now()
	if err := fresh.Wait(context.Background(), "loc-1"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("a fresh process's first call waited %s after the member died, want at most 2 windows (2s)", waited)
	}
	if n := rdb.ZCard(context.Background(), prefix+"{loc-1}:lease").Val(); n > 0 {
		t.Errorf("%d leases of the dead process left", n)
	}
}

// TestWaitingMember is the process killed above: it spends the budget of
// 5 per second, then queues 300 callers.
func TestWaitingMember(t *testing.T) {
	if os.Getenv(envWaiter) == "" {
		t.Skip("started by TestBookingsOfADeadProcessLapse")
	}
	rdb := redisClient(os.Getenv(envRedis))
	defer rdb.Close()
	lim := redislimit.New(rdb, redislimit.WithPrefix(os.Getenv(envPrefix)), redislimit.WithBudget(5, time.Second),
		redislimit.WithTimeout(5*time.Second))
	var wg sync.WaitGroup
	for range 305 {
		wg.Go(func() { _ = lim.Wait(context.Background(), "loc-1") })
	}
	wg.Wait() // until killed
}
