package importer

import (
	"context"
	"time"
)

// snapshot is the progress so far.
func (r *run) snapshot() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.sum.Progress
	if r.tr != nil {
		p.RateLimited = r.tr.RateLimited()
	}
	p.Elapsed = time.Since(r.start)
	return p
}

func (r *run) report() {
	if r.cfg.Progress != nil {
		r.cfg.Progress(r.snapshot())
	}
}

// reportEverySecond reports progress once a second, and makes the journal
// durable as often, so that an outcome reaches the disk within a second
// even when no request follows it. It returns the function that stops it.
func (r *run) reportEverySecond() (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := r.j.sync(); err != nil {
					r.fail(err)
				}
				r.report()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-ended }
}

// watchStop returns the context of the calls: a closed cfg.Stop stops
// sending and lets calls in flight finish for DrainTimeout, then cancels
// them; ctx's end cancels them at once. It returns the function that
// stops watching.
func (r *run) watchStop(ctx context.Context) (context.Context, func()) {
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case <-r.cfg.Stop:
			r.stopping.Store(true)
			if r.cfg.Stopping != nil {
				r.cfg.Stopping(int(r.inFlight.Load()))
			}
			t := time.NewTimer(r.cfg.DrainTimeout)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			case <-callCtx.Done():
			}
		case <-ctx.Done():
		case <-callCtx.Done():
		}
		cancel()
	}()
	return callCtx, func() { cancel(); <-ended }
}
