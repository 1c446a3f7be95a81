package importer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway"
)

// sendable reports whether a row in state s is sent in this run: rows not
// yet tried, and updates (rows with an id) that did not succeed, since
// repeating them is safe.
func sendable(s uint8, hasID bool) bool {
	switch s {
	case statePending:
		return true
	case stateFailed, stateUnknown, stateStarted:
		return hasID
	}
	return false
}

// settleInterrupted turns the rows inFlight, left "started" by a run that
// died, in ascending order, into unknown rows (creates) or pending ones
// (updates), in the journal too.
func settleInterrupted(cfg *Config, states *rowTable, j *journal, inFlight []int) error {
	if len(inFlight) == 0 {
		return nil
	}
	hasID := map[int]bool{}
	err := openRows(cfg.Input, cfg.Spec, nil, func(rd *Reader) error {
		k := 0
		for row, err := range Rows(rd) {
			if err != nil {
				return &ReadError{Path: cfg.Input, Err: err}
			}
			if k < len(inFlight) && row.Num == inFlight[k] {
				hasID[row.Num] = row.Req.Id != nil
				k++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range inFlight {
		if hasID[n] {
			states.set(n, rowState{state: statePending})
			continue
		}
		reason := "the import stopped while this create was in flight; it may have been applied"
		states.set(n, rowState{state: stateUnknown, msg: reason})
		if err := j.append(event{Row: n, Ev: "unknown", Reason: reason}); err != nil {
			return err
		}
	}
	return j.sync()
}

// classify turns a result into its journal event and the row's new state.
func classify(n int, r leadway.BulkResult) (event, rowState) {
	if r.Err == nil {
		return event{Row: n, Ev: "done", ID: r.Result.ID(), New: r.Result.New},
			rowState{state: stateDone, id: r.Result.ID(), new: r.Result.New}
	}
	hasID := r.Request.Id != nil
	msg := describe(r.Err)
	var (
		rl      *leadway.RateLimitError
		unknown *leadway.UnknownOutcomeError
		resp    *leadway.ResponseError
		api     *leadway.APIError
	)
	pending := func() (event, rowState) {
		return event{Row: n, Ev: "pending", Reason: msg}, rowState{state: statePending}
	}
	failed := func(status int) (event, rowState) {
		return event{Row: n, Ev: "failed", Error: msg, Status: status}, rowState{state: stateFailed, msg: msg, status: status}
	}
	switch {
	case errors.Is(r.Err, leadway.ErrNotSent), errors.Is(r.Err, errStopped):
		return pending()
	case authRefusal(r.Err):
		// The credentials were refused, not the row: it was never judged.
		return pending()
	case errors.As(r.Err, &rl):
		// A 429 was not applied; the daily kind waits for the next day.
		return pending()
	case errors.As(r.Err, &unknown), errors.As(r.Err, &resp):
		if hasID {
			return failed(0) // an update is safe to send again
		}
		return event{Row: n, Ev: "unknown", Reason: msg}, rowState{state: stateUnknown, msg: msg}
	case errors.Is(r.Err, context.Canceled), errors.Is(r.Err, context.DeadlineExceeded):
		// The client reports a possibly delivered request as an
		// UnknownOutcomeError; a bare context error was never sent.
		return pending()
	case errors.As(r.Err, &api):
		return failed(api.StatusCode)
	}
	return failed(0)
}

// authRefusal reports whether err says the API (or the token endpoint
// behind the client's token source) refused the credentials: a 401 or a
// 403 after the client's own refresh. Every other row would meet the same
// answer, so the run stops.
func authRefusal(err error) bool {
	var api *leadway.APIError
	if errors.As(err, &api) && (api.StatusCode == http.StatusUnauthorized || api.StatusCode == http.StatusForbidden) {
		var rl *leadway.RateLimitError
		return !errors.As(err, &rl)
	}
	return errors.Is(err, leadway.ErrInvalidToken)
}

// describe is an error's message on one line, without the "leadway: "
// prefix. It never calls Error on a rate-limit error without a response.
func describe(err error) string {
	var rl *leadway.RateLimitError
	if errors.As(err, &rl) && rl.APIError == nil {
		return fmt.Sprintf("daily budget used up; try again in %s", rl.RetryAfter.Round(time.Second))
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	return strings.TrimPrefix(msg, "leadway: ")
}
