package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadwaycrm/leadway"
)

// Config describes one import.
type Config struct {
	// Input is the path of the file to import.
	Input string
	// Spec says how its rows become requests.
	Spec Spec
	// Journal is the journal's path. Default: Input + ".journal".
	Journal string
	// Restart discards the journal and starts over.
	Restart bool
	// PerLocation is how many calls per location may be in flight.
	PerLocation int
	// Stop, once closed, stops sending: calls in flight may finish for
	// DrainTimeout, then they are cancelled.
	Stop <-chan struct{}
	// DrainTimeout bounds how long calls in flight may take after Stop.
	DrainTimeout time.Duration
	// Invalid is called for every invalid row found by the check.
	Invalid func(row *Row)
	// Progress is called after each result and once a second, from any
	// goroutine.
	Progress func(Progress)
}

func (c *Config) journalPath() string {
	if c.Journal != "" {
		return c.Journal
	}
	return c.Input + ".journal"
}

// OutputPaths returns the results, failed and unknown files' paths for an
// input: next to it, named after it.
func OutputPaths(input, format string) (results, failed, unknown string) {
	base := input
	if i := strings.LastIndexByte(base, '.'); i > strings.LastIndexByte(base, os.PathSeparator) {
		base = base[:i]
	}
	ext := ".csv"
	if format == FormatJSONL {
		ext = ".jsonl"
	}
	return base + ".results.csv", base + ".failed" + ext, base + ".unknown" + ext
}

// Progress is where an import stands.
type Progress struct {
	// Total is the number of rows in the input.
	Total int
	// Done counts rows created or updated, in this run or an earlier one.
	Done int
	// Failed and Unknown count rows in the failed and unknown files.
	Failed, Unknown int
	// RateLimited counts 429 answers in this run.
	RateLimited int64
	// DailyLeft is the smallest daily budget left announced by any
	// location, -1 before any answer said.
	DailyLeft int
	// Sent counts calls that ended in this run; Elapsed is this run's time.
	Sent    int
	Elapsed time.Duration
}

// Finished is how many rows have an outcome.
func (p Progress) Finished() int { return p.Done + p.Failed + p.Unknown }

// Scan is what a check of the whole input found.
type Scan struct {
	// SHA256 is the input's content hash, which keys its journal.
	SHA256 string
	// Rows counts the data rows.
	Rows int
	// Invalid counts rows that would be refused.
	Invalid int
	// Locations counts rows per location.
	Locations map[string]int
	// WithID counts rows that carry an opportunity id (updates).
	WithID int
}

// InvalidRowsError refuses an input with invalid rows; nothing was sent.
type InvalidRowsError struct{ Count int }

func (e *InvalidRowsError) Error() string {
	return fmt.Sprintf("%d invalid row%s (listed above); nothing was sent: fix them and run again", e.Count, plural(e.Count))
}

// ReadError is an input that could not be read on, such as broken CSV
// quoting.
type ReadError struct {
	// Path is the input's path.
	Path string
	// Err is the reader's error, which names the line.
	Err error
}

func (e *ReadError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// openRows opens the input and calls fn with its reader; the input is read
// as a stream, never whole.
func openRows(path string, spec Spec, tee io.Writer, fn func(*Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if tee != nil {
		r = io.TeeReader(f, tee)
	}
	rd, err := NewReader(r, spec)
	if err != nil {
		return err
	}
	if err := fn(rd); err != nil {
		return err
	}
	if tee != nil {
		_, err = io.Copy(io.Discard, r) // hash what the reader left
	}
	return err
}

// Check reads the whole input once: it hashes it, validates every row as
// the client would, and counts rows per location. Invalid rows go to
// cfg.Invalid; any makes the error an *InvalidRowsError.
func Check(cfg *Config) (*Scan, error) {
	h := sha256.New()
	s := &Scan{Locations: map[string]int{}}
	err := openRows(cfg.Input, cfg.Spec, h, func(rd *Reader) error {
		for row, err := range Rows(rd) {
			if err != nil {
				return &ReadError{Path: cfg.Input, Err: err}
			}
			s.Rows++
			if row.Err != nil {
				s.Invalid++
				if cfg.Invalid != nil {
					cfg.Invalid(row)
				}
				continue
			}
			s.Locations[row.Req.LocationId]++
			if row.Req.Id != nil {
				s.WithID++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.SHA256 = hex.EncodeToString(h.Sum(nil))
	if s.Invalid > 0 {
		return s, &InvalidRowsError{Count: s.Invalid}
	}
	return s, nil
}

// Summary is the outcome of a run.
type Summary struct {
	Progress
	// Resumed reports that a journal of an earlier run was taken up.
	Resumed bool
	// Pending counts rows still to send: after an interruption or a spent
	// daily budget.
	Pending int
	// Interrupted reports that Stop ended the run.
	Interrupted bool
	// Spent lists the locations whose daily budget ran out, and when each
	// may go on.
	Spent map[string]time.Time
	// Journal, Results, FailedFile and UnknownFile are the files written.
	Journal, Results, FailedFile, UnknownFile string
}

// Complete reports whether every row is in one of the output files.
func (s *Summary) Complete() bool { return s.Pending == 0 }

// maxExtraPasses bounds how often one run sends again the rows that met
// nothing but 429s.
const maxExtraPasses = 3

// errStopped skips the calls not yet sent when Stop is closed.
var errStopped = errors.New("stopped before sending")

// Run imports the input with client, resuming from the journal when there is
// one for this input. scan is Check's result. ctx's end cancels calls at
// once; close cfg.Stop instead to stop gracefully. client should send
// through tr, so that a row counts as started only once its request leaves;
// with a nil tr, rows are recorded before the limiter's wait, and more of
// them turn unknown when the process dies.
func Run(ctx context.Context, client *leadway.Client, cfg *Config, scan *Scan, tr *Transport) (*Summary, error) {
	states := make([]rowState, scan.Rows+1)
	jpath := cfg.journalPath()
	sum := &Summary{Journal: jpath, Spent: map[string]time.Time{}}
	sum.Total = scan.Rows
	sum.DailyLeft = -1
	sum.Results, sum.FailedFile, sum.UnknownFile = OutputPaths(cfg.Input, cfg.Spec.Format)

	var h *journalHeader
	if !cfg.Restart {
		var err error
		if h, err = loadJournal(jpath, states, scan.SHA256); err != nil {
			return nil, err
		}
	}
	if h != nil && (h.SHA256 != scan.SHA256 || h.Rows != scan.Rows) {
		return nil, &ChangedInputError{Journal: jpath, Input: cfg.Input, Was: h.SHA256, Now: scan.SHA256}
	}
	fresh := h == nil
	if fresh {
		clear(states)
		h = &journalHeader{Journal: journalVersion, Input: cfg.Input, SHA256: scan.SHA256, Rows: scan.Rows}
	}
	sum.Resumed = !fresh
	j, err := openJournal(jpath, h, fresh)
	if err != nil {
		return nil, err
	}
	defer j.close()

	// Rows that were in flight when an earlier run died: a create may have
	// landed, so it is never sent again; an update is safe to repeat.
	if !fresh {
		if err := settleInterrupted(cfg, states, j); err != nil {
			return nil, err
		}
	}
	for i := 1; i < len(states); i++ {
		switch states[i].state {
		case stateDone:
			sum.Done++
		}
	}

	var mu sync.Mutex // guards sum and states below
	snapshot := func() Progress {
		mu.Lock()
		defer mu.Unlock()
		p := sum.Progress
		if tr != nil {
			p.RateLimited = tr.RateLimited()
		}
		return p
	}
	start := time.Now()
	report := func() {
		if cfg.Progress != nil {
			p := snapshot()
			p.Elapsed = time.Since(start)
			cfg.Progress(p)
		}
	}
	tickDone := make(chan struct{})
	tickEnded := make(chan struct{})
	go func() {
		defer close(tickEnded)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-tickDone:
				return
			}
		}
	}()
	defer func() { close(tickDone); <-tickEnded }()

	// Calls outlive Stop by DrainTimeout, then are cancelled.
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var stopping atomic.Bool
	stopWatchEnded := make(chan struct{})
	go func() {
		defer close(stopWatchEnded)
		select {
		case <-cfg.Stop:
			stopping.Store(true)
			t := time.NewTimer(cfg.DrainTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				cancel()
			case <-ctx.Done():
				cancel()
			case <-callCtx.Done():
			}
		case <-ctx.Done():
			cancel()
		case <-callCtx.Done():
		}
	}()
	defer func() { cancel(); <-stopWatchEnded }()

	// rowOf maps an item's index to its row number while it is in flight.
	var rowMu sync.Mutex
	rowOf := map[int]int{}
	var readErr error
	// again holds the rows this pass left pending after 429s that were not
	// the daily kind: the next pass sends them again.
	var again map[int]bool
	var want func(row *Row) bool
	reqs := func(yield func(leadway.UpsertRequest) bool) {
		index := 0
		readErr = openRows(cfg.Input, cfg.Spec, nil, func(rd *Reader) error {
			for row, err := range Rows(rd) {
				if err != nil {
					return &ReadError{Path: cfg.Input, Err: err}
				}
				if row.Err != nil || !want(row) {
					continue
				}
				if stopping.Load() {
					return nil
				}
				rowMu.Lock()
				rowOf[index] = row.Num
				rowMu.Unlock()
				index++
				if !yield(row.Req) {
					return nil
				}
			}
			return nil
		})
	}
	rowNum := func(index int) int {
		rowMu.Lock()
		defer rowMu.Unlock()
		return rowOf[index]
	}
	opts := &leadway.BulkOptions{
		PerLocation: cfg.PerLocation,
		BeforeSend: func(index int, req leadway.UpsertRequest) error {
			if stopping.Load() {
				return errStopped
			}
			if tr == nil {
				return j.started(rowNum(index)) // before the limiter's wait
			}
			return nil
		},
		ItemContext: func(ctx context.Context, index int) context.Context {
			n := rowNum(index)
			return context.WithValue(ctx, rowKey{}, &rowMark{started: func() error {
				// A call that waited for the limiter past Stop is not sent.
				if stopping.Load() {
					return errStopped
				}
				return j.started(n)
			}})
		},
	}
	var journalErr error
	sendPass := func() {
		for r := range client.UpsertAll(callCtx, reqs, opts) {
			rowMu.Lock()
			n := rowOf[r.Index]
			delete(rowOf, r.Index)
			rowMu.Unlock()
			ev, st := classify(n, r)
			if ev.Ev == "pending" && errors.Is(r.Err, errStopped) {
				ev.Ev = "" // never started: nothing to record
			}
			if ev.Ev != "" {
				if err := j.append(ev); err != nil && journalErr == nil {
					journalErr = err
					stopping.Store(true)
				}
			}
			mu.Lock()
			states[n] = st
			if !errors.Is(r.Err, leadway.ErrNotSent) && !errors.Is(r.Err, errStopped) {
				sum.Sent++
			}
			switch st.state {
			case stateDone:
				sum.Done++
			case stateFailed:
				sum.Failed++
			case stateUnknown:
				sum.Unknown++
			}
			if r.Result != nil {
				if left := r.Result.RateLimit.DailyRemaining; left >= 0 && (sum.DailyLeft < 0 || left < sum.DailyLeft) {
					sum.DailyLeft = left
				}
			}
			var rl *leadway.RateLimitError
			if errors.As(r.Err, &rl) && !rl.Daily && st.state == statePending {
				again[n] = true
			}
			if errors.As(r.Err, &rl) && rl.Daily {
				until := time.Now().Add(rl.RetryAfter)
				if was, ok := sum.Spent[r.Request.LocationId]; !ok || until.After(was) {
					sum.Spent[r.Request.LocationId] = until
				}
				sum.DailyLeft = 0
			}
			mu.Unlock()
			report()
		}
	}
	// The first pass sends every row not done yet; later ones, the rows a
	// pass left pending after 429s, while the budget has room again.
	want = func(row *Row) bool { return sendable(states[row.Num].state, row.Req.Id != nil) }
	for pass := 0; ; pass++ {
		again = map[int]bool{}
		sendPass()
		if len(again) == 0 || stopping.Load() || journalErr != nil || readErr != nil || pass == maxExtraPasses {
			break
		}
		retry := again
		want = func(row *Row) bool { return retry[row.Num] }
	}
	if err := j.sync(); err != nil && journalErr == nil {
		journalErr = err
	}
	if journalErr != nil {
		return nil, journalErr
	}
	if readErr != nil {
		return nil, readErr
	}
	sum.Interrupted = stopping.Load()

	// Count outcomes over the whole input, earlier runs included.
	sum.Done, sum.Failed, sum.Unknown, sum.Pending = 0, 0, 0, 0
	for i := 1; i < len(states); i++ {
		switch states[i].state {
		case stateDone:
			sum.Done++
		case stateFailed:
			sum.Failed++
		case stateUnknown:
			sum.Unknown++
		default:
			sum.Pending++
		}
	}
	if err := writeOutputs(cfg, states, sum); err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(start)
	if tr != nil {
		sum.RateLimited = tr.RateLimited()
	}
	return sum, nil
}

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

// settleInterrupted turns rows left "started" by a run that died into
// unknown rows (creates) or pending ones (updates), in the journal too.
func settleInterrupted(cfg *Config, states []rowState, j *journal) error {
	var inFlight []int
	for i := 1; i < len(states); i++ {
		if states[i].state == stateStarted {
			inFlight = append(inFlight, i)
		}
	}
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
			states[n] = rowState{state: statePending}
			continue
		}
		reason := "the import stopped while this create was in flight; it may have been applied"
		states[n] = rowState{state: stateUnknown, msg: reason}
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

// Transport is the HTTP transport of an import's client. It sees each
// attempt once the client's limiter has let it go, so it records a row as
// started (durably) only when its request is about to go on the wire, and it
// counts 429 answers. Build the client with
// leadway.WithHTTPClient(&http.Client{Transport: t}).
type Transport struct {
	Base http.RoundTripper
	n429 atomic.Int64
}

// rowKey carries a call's *rowMark in its context.
type rowKey struct{}

// rowMark records a row's start once, on the first attempt.
type rowMark struct {
	once    sync.Once
	err     error
	started func() error
}

// RoundTrip records the row of req as started, sends req through Base and
// counts a 429 answer.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if m, ok := req.Context().Value(rowKey{}).(*rowMark); ok {
		m.once.Do(func() { m.err = m.started() })
		if m.err != nil {
			return nil, m.err
		}
	}
	resp, err := t.Base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.n429.Add(1)
	}
	return resp, err
}

// RateLimited returns how many 429 answers came back.
func (t *Transport) RateLimited() int64 { return t.n429.Load() }
