package importer

import (
	"context"
	"errors"
	"time"

	"github.com/leadwaycrm/leadway"
)

// sendPasses sends every row not done yet; then, while the budget has room
// again, the rows a pass left pending after 429s that were not the daily
// kind, at most maxExtraPasses times.
func (r *run) sendPasses(ctx context.Context, client *leadway.Client) {
	want := func(row *Row) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return sendable(r.states.state(row.Num), row.Req.Id != nil)
	}
	for pass := 0; ; pass++ {
		again := r.sendPass(ctx, client, want)
		if len(again) == 0 || r.stopping.Load() || pass == maxExtraPasses {
			return
		}
		want = func(row *Row) bool { return again[row.Num] }
	}
}

// sendPass sends the rows want picks, in input order per location, and
// returns those to send again.
func (r *run) sendPass(ctx context.Context, client *leadway.Client, want func(*Row) bool) map[int]bool {
	index := 0
	reqs := func(yield func(leadway.UpsertRequest) bool) {
		err := openRows(r.cfg.Input, r.cfg.Spec, nil, func(rd *Reader) error {
			for row, err := range Rows(rd) {
				if err != nil {
					return &ReadError{Path: r.cfg.Input, Err: err}
				}
				if row.Err != nil || !want(row) {
					continue
				}
				if r.stopping.Load() {
					return nil
				}
				r.rowMu.Lock()
				r.rowOf[index] = &inFlightRow{num: row.Num}
				r.rowMu.Unlock()
				index++
				if !yield(row.Req) {
					return nil
				}
			}
			return nil
		})
		if err != nil {
			r.fail(err)
		}
	}
	again := map[int]bool{}
	for res := range client.UpsertAll(ctx, reqs, r.bulkOptions()) {
		r.rowMu.Lock()
		row := r.rowOf[res.Index]
		delete(r.rowOf, res.Index)
		r.rowMu.Unlock()
		if r.record(row.num, res) {
			again[row.num] = true
		}
	}
	return again
}

// bulkOptions records each row as started just before its request leaves
// (through the Transport) and its outcome before the worker takes its
// next row: the next "started" event's fsync then makes that outcome
// durable too, one write and one fsync for every event of the moment.
func (r *run) bulkOptions() *leadway.BulkOptions {
	return &leadway.BulkOptions{
		PerLocation: r.cfg.PerLocation,
		BeforeSend: func(index int, _ leadway.UpsertRequest) error {
			if r.stopping.Load() {
				return errStopped
			}
			if r.tr == nil {
				return r.started(r.row(index)) // before the limiter's wait
			}
			return nil
		},
		ItemContext: func(ctx context.Context, index int) context.Context {
			row := r.row(index)
			return context.WithValue(ctx, rowKey{}, &rowMark{started: func() error {
				// A call that waited for the limiter past a stop is not sent.
				if r.stopping.Load() {
					return errStopped
				}
				return r.started(row)
			}})
		},
		AfterCall: r.afterCall,
	}
}

func (r *run) row(index int) *inFlightRow {
	r.rowMu.Lock()
	defer r.rowMu.Unlock()
	return r.rowOf[index]
}

// started records, durably, that the row's request is about to leave.
func (r *run) started(row *inFlightRow) error {
	if err := r.j.started(row.num); err != nil {
		r.fail(err)
		return err
	}
	r.rowMu.Lock()
	row.sent = true
	r.rowMu.Unlock()
	r.inFlight.Add(1)
	return nil
}

// afterCall journals a call's outcome on the worker that made it, and stops
// the run when the API refused the credentials.
func (r *run) afterCall(res *leadway.BulkResult) {
	r.rowMu.Lock()
	row := r.rowOf[res.Index]
	sent := row.sent
	r.rowMu.Unlock()
	if sent {
		r.inFlight.Add(-1)
	}
	ev, _ := classify(row.num, *res)
	if ev.Ev == "pending" && !sent {
		return // never started: nothing to record
	}
	if err := r.j.append(ev); err != nil {
		r.fail(err)
	}
	if authRefusal(res.Err) {
		r.mu.Lock()
		if r.sum.AuthRefused == nil {
			r.sum.AuthRefused = res.Err
		}
		r.mu.Unlock()
		r.stopping.Store(true)
	}
}

// record takes a result into the rows' states and the summary, and reports
// whether the row should be sent again in another pass.
func (r *run) record(n int, res leadway.BulkResult) (again bool) {
	_, st := classify(n, res)
	r.mu.Lock()
	defer r.report()
	defer r.mu.Unlock()
	sum := r.sum
	r.states.set(n, st)
	if !errors.Is(res.Err, leadway.ErrNotSent) && !errors.Is(res.Err, errStopped) {
		sum.Sent++
	}
	sum.count(st.state)
	if res.Result != nil {
		if left := res.Result.RateLimit.DailyRemaining; left >= 0 && (sum.DailyLeft < 0 || left < sum.DailyLeft) {
			sum.DailyLeft = left
		}
	}
	var rl *leadway.RateLimitError
	if errors.As(res.Err, &rl) && rl.Daily {
		until := time.Now().Add(rl.RetryAfter)
		if was, ok := sum.Spent[res.Request.LocationId]; !ok || until.After(was) {
			sum.Spent[res.Request.LocationId] = until
		}
		sum.DailyLeft = 0
	}
	return rl != nil && !rl.Daily && st.state == statePending && !authRefusal(res.Err)
}
