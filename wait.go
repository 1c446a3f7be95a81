package leadway

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// sleep waits for d or until ctx is done. It gives up at once when ctx's
// deadline falls before the wait ends, since the retry could not happen.
func sleep(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return context.DeadlineExceeded
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// waitError reports a context that ended while the client waited to retry.
// It matches both the context's error and the last attempt's error.
type waitError struct {
	err  error
	wait time.Duration
	last error
}

func (e *waitError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "leadway: ")
	if e.wait > 0 {
		msg += fmt.Sprintf(" before the retry due in %s", e.wait)
	}
	return "leadway: " + msg + "; last attempt: " + strings.TrimPrefix(e.last.Error(), "leadway: ")
}

func (e *waitError) Unwrap() []error { return []error{e.err, e.last} }
