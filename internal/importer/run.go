package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	// OutputDir is where the results, failed and unknown files go.
	// Default: the input's directory.
	OutputDir string
	// Notice is told at once, in a sentence, of what the run repaired
	// before sending, such as a journal line cut short by a crash.
	Notice func(msg string)
	// Stopping is told, once, that Stop was closed, with how many calls
	// are in flight: the run waits for them.
	Stopping func(inFlight int)
}

// JournalPath is the journal's path: Journal, or the input's beside it.
func (c *Config) JournalPath() string { return c.journalPath() }

func (c *Config) journalPath() string {
	if c.Journal != "" {
		return c.Journal
	}
	return c.Input + ".journal"
}

// OutputPaths returns the results, failed and unknown files' paths for an
// input: in dir, or next to the input when dir is empty, named after it.
func OutputPaths(input, format, dir string) (results, failed, unknown string) {
	base := input
	if dir != "" {
		base = filepath.Join(dir, filepath.Base(input))
	}
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

// count adds a row in state s to its outcome, and reports whether it has
// one (a pending or started row has none).
func (p *Progress) count(s uint8) bool {
	switch s {
	case stateDone:
		p.Done++
	case stateFailed:
		p.Failed++
	case stateUnknown:
		p.Unknown++
	default:
		return false
	}
	return true
}

// Finished is how many rows have an outcome.
func (p Progress) Finished() int { return p.Done + p.Failed + p.Unknown }

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
	// AuthRefused is the error of the call whose credentials the API
	// refused (a 401 or 403), when one stopped the run: that row and every
	// row not sent are pending, for a run with good credentials.
	AuthRefused error
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

// errStopped skips the calls not yet sent when the run stops.
var errStopped = errors.New("stopped before sending")

// Run imports the input with client, resuming from the journal when there is
// one for this input. scan is Check's result; take the journal's Lock
// before Check. ctx's end cancels calls at once; close cfg.Stop instead to
// stop gracefully. client should send through tr, so that a row counts as
// started only once its request leaves; with a nil tr, rows are recorded
// before the limiter's wait, and more of them turn unknown when the
// process dies.
//
// Everything local is checked before the first request: the journal is
// read (a torn last line cut away), opened for appending, and the output
// directory written to. A failure of the journal or the outputs is a
// *LocalError.
func Run(ctx context.Context, client *leadway.Client, cfg *Config, scan *Scan, tr *Transport) (*Summary, error) {
	r, err := openRun(cfg, scan, tr)
	if err != nil {
		return nil, err
	}
	defer r.j.close()
	defer r.states.close()
	stopReports := r.reportEverySecond()
	callCtx, stopWatch := r.watchStop(ctx)
	r.sendPasses(callCtx, client)
	stopWatch()
	stopReports()
	return r.finish()
}

// run is one import in progress.
type run struct {
	cfg   *Config
	scan  *Scan
	tr    *Transport
	j     *journal
	start time.Time

	mu      sync.Mutex // guards sum, states and failure
	sum     *Summary
	states  *rowTable
	failure error // the first local error: the journal could not be written

	stopping atomic.Bool
	inFlight atomic.Int64

	rowMu sync.Mutex
	rowOf map[int]*inFlightRow // by item index, while read and not yet settled
}

// inFlightRow is a row handed to UpsertAll.
type inFlightRow struct {
	num  int
	sent bool // its request left (recorded "started")
}

// openRun loads and repairs the journal, opens it, settles the rows an
// earlier run left in flight, and checks the output directory: everything
// that can fail locally, before the first request.
func openRun(cfg *Config, scan *Scan, tr *Transport) (*run, error) {
	jpath := cfg.journalPath()
	states, err := newRowTable(filepath.Dir(jpath), scan.Rows)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, scan: scan, tr: tr, states: states, rowOf: map[int]*inFlightRow{}}
	ok := false
	defer func() {
		if !ok {
			states.close()
		}
	}()
	r.sum = &Summary{Journal: jpath, Spent: map[string]time.Time{}}
	r.sum.Total, r.sum.DailyLeft = scan.Rows, -1
	r.sum.Results, r.sum.FailedFile, r.sum.UnknownFile = OutputPaths(cfg.Input, cfg.Spec.Format, cfg.OutputDir)

	var h *journalHeader
	if !cfg.Restart {
		var torn int64
		var err error
		if h, torn, err = loadJournal(jpath, r.states, scan.SHA256); err != nil {
			return nil, err
		}
		if torn > 0 {
			if err := cutTorn(jpath, torn); err != nil {
				return nil, err
			}
			r.notice(fmt.Sprintf("journal %s: cut away a last line left unfinished by a crash or a full disk (%d byte%s); its event never happened",
				jpath, torn, plural(int(torn))))
		}
	}
	if h != nil && (h.SHA256 != scan.SHA256 || h.Rows != scan.Rows) {
		return nil, &ChangedInputError{Journal: jpath, Input: cfg.Input, Was: h.SHA256, Now: scan.SHA256}
	}
	fresh := h == nil
	if fresh {
		h = &journalHeader{Journal: journalVersion, Input: cfg.Input, SHA256: scan.SHA256, Rows: scan.Rows}
	}
	r.sum.Resumed = !fresh
	if err := checkWritable(filepath.Dir(r.sum.Results)); err != nil {
		return nil, err
	}
	j, err := openJournal(jpath, h, fresh)
	if err != nil {
		return nil, err
	}
	r.j = j
	// One pass over the rows of an earlier run: those done, and those in
	// flight when it died. A create among these may have landed, so it is
	// never sent again; an update is safe to repeat.
	if !fresh {
		var inFlight []int
		for i := 1; i <= r.states.rows; i++ {
			switch r.states.state(i) {
			case stateDone:
				r.sum.Done++
			case stateStarted:
				inFlight = append(inFlight, i)
			}
		}
		if err := settleInterrupted(cfg, r.states, j, inFlight); err != nil {
			j.close()
			return nil, err
		}
	}
	if r.states.err != nil {
		j.close()
		return nil, r.states.err
	}
	r.start = time.Now()
	ok = true
	return r, nil
}

// checkWritable creates and removes a file in dir, so that an output
// directory that cannot be written is found before anything is sent.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".leadway-import-check-*")
	if err == nil {
		name := f.Name()
		err = f.Close()
		if rerr := os.Remove(name); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return &LocalError{Op: "checking that the output directory can be written:", Path: dir, Err: err}
	}
	return nil
}

func (r *run) notice(msg string) {
	if r.cfg.Notice != nil {
		r.cfg.Notice(msg)
	}
}

// finish makes the journal durable, counts every row's outcome, earlier
// runs included, and writes the output files.
func (r *run) finish() (*Summary, error) {
	if err := r.j.sync(); err != nil {
		r.fail(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failure != nil {
		return nil, r.failure
	}
	sum := r.sum
	sum.Interrupted = r.stopping.Load() && sum.AuthRefused == nil
	sum.Done, sum.Failed, sum.Unknown, sum.Pending = 0, 0, 0, 0
	for i := 1; i <= r.states.rows; i++ {
		if !sum.count(r.states.state(i)) {
			sum.Pending++
		}
	}
	if err := writeOutputs(r.cfg, r.states, sum); err != nil {
		return nil, err
	}
	if r.states.err != nil {
		return nil, r.states.err
	}
	sum.Elapsed = time.Since(r.start)
	if r.tr != nil {
		sum.RateLimited = r.tr.RateLimited()
	}
	return sum, nil
}

// fail records the run's first local error and stops sending.
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.failure == nil {
		r.failure = err
	}
	r.mu.Unlock()
	r.stopping.Store(true)
}
