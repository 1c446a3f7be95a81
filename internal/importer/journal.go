package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// The journal is a JSON Lines file, appended to and never rewritten. Its
// first line names the input by its SHA-256; each further line is an event
// of one row, keyed by the row's number:
//
//	{"journal":1,"input":"deals.csv","sha256":"…","rows":10000,"started":"…"}
//	{"row":7,"ev":"started"}                      written and synced before the call
//	{"row":7,"ev":"done","id":"opp…","new":true}  the call succeeded
//	{"row":8,"ev":"failed","error":"…","status":422}
//	{"row":9,"ev":"unknown","reason":"…"}         it may have been applied
//	{"row":10,"ev":"pending","reason":"…"}        not applied, send it again
//
// A row "started" with nothing after it was in flight when the process
// died: it may have reached the server.

// journalVersion is the format of the first line.
const journalVersion = 1

type journalHeader struct {
	Journal int    `json:"journal"`
	Input   string `json:"input"`
	SHA256  string `json:"sha256"`
	Rows    int    `json:"rows"`
	Started string `json:"started"`
}

type event struct {
	Row    int    `json:"row"`
	Ev     string `json:"ev"`
	ID     string `json:"id,omitempty"`
	New    bool   `json:"new,omitempty"`
	Error  string `json:"error,omitempty"`
	Status int    `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Row states, from the journal.
const (
	statePending uint8 = iota
	stateStarted
	stateDone
	stateFailed
	stateUnknown
)

// rowState is what the journal says of one row.
type rowState struct {
	state  uint8
	new    bool
	status int
	id     string
	msg    string // the error of a failed row, the reason of an unknown one
}

// ChangedInputError refuses to resume with an input that is not the one the
// journal was started for.
type ChangedInputError struct {
	// Journal and Input are the two files' paths.
	Journal, Input string
	// Was and Now are the input's SHA-256 when the journal was started and
	// now.
	Was, Now string
}

func (e *ChangedInputError) Error() string {
	return fmt.Sprintf("%s has changed since the journal %s was started (sha256 %.12s…, now %.12s…): resume with the original file, "+
		"or pass --restart to start over (rows already imported would be sent again)", e.Input, e.Journal, e.Was, e.Now)
}

// journal appends events. Appends are serialised; sync makes every event
// appended so far durable, and calls that overlap share one fsync.
type journal struct {
	path string

	mu      sync.Mutex
	synced  *sync.Cond // on mu: an fsync ended
	f       *os.File
	w       *bufio.Writer
	written int64 // events appended
	starts  int64 // of which "started"
	err     error
	// done is how many events the fsyncs so far covered, and doneStarts
	// how many starts; syncing says one is under way. lastSync is when the
	// last ended, and lastStarts how many starts it covered (see
	// commitEvery).
	done, doneStarts int64
	syncing          bool
	lastSync         time.Time
	lastStarts       int64
	fsyncs, waits    int64 // how many, and how many waited for the window
}

// commitEvery is the least time between two fsyncs of the journal while
// rows start side by side: the starts of that time wait for one fsync
// together. Without it every fsync takes whatever came in while the last
// ran, about 1 ms: near a thousand fsyncs a second at a fast fake's pace,
// a twentieth of the import's CPU and much of a cloud volume's IOPS. A
// start waits at most this much more, against calls that take a hundred
// times as long. It applies only while starts come densely, commitStarts
// or more to the last fsync: a worker or two starting rows one after the
// other never wait.
const (
	commitEvery  = 3 * time.Millisecond
	commitStarts = 3
)

// loadJournal reads the journal at path into states (one per row, indexed
// from 1) and returns its header, or nil when there is none, and the
// length of its complete lines. A last line cut short by a crash or a full
// disk is not an event: torn says how many bytes it has (0 when none), for
// the caller to cut away before appending. When the header names another
// input (by sha256), the events are not read: they are not this input's.
func loadJournal(path string, states *rowTable, sha string) (h *journalHeader, torn int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, &LocalError{Op: "reading the journal", Path: path, Err: err}
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return h, int64(len(line)), nil // a cut last line: that event never happened
		}
		if err != nil {
			return nil, 0, &LocalError{Op: "reading the journal", Path: path, Err: err}
		}
		if h == nil {
			h = &journalHeader{}
			if err := json.Unmarshal(line, h); err != nil || h.Journal != journalVersion {
				return nil, 0, fmt.Errorf("journal %s: not a leadway import journal (line 1); pass --journal to choose another path", path)
			}
			if h.SHA256 != sha || h.Rows != states.rows {
				return h, 0, nil
			}
			continue
		}
		if err := readEvent(line, states); err != nil {
			return nil, 0, fmt.Errorf("journal %s: line %d: %w", path, n, err)
		}
	}
}

// readEvent applies one journal line to the rows' states.
func readEvent(line []byte, states *rowTable) error {
	var ev event
	if err := json.Unmarshal(line, &ev); err != nil || ev.Row < 1 || ev.Row > states.rows {
		return errors.New("not an event of this input")
	}
	var s rowState
	switch ev.Ev {
	case "started":
		s = rowState{state: stateStarted}
	case "done":
		s = rowState{state: stateDone, id: ev.ID, new: ev.New}
	case "failed":
		s = rowState{state: stateFailed, msg: ev.Error, status: ev.Status}
	case "unknown":
		s = rowState{state: stateUnknown, msg: ev.Reason}
	case "pending":
		s = rowState{state: statePending}
	default:
		return fmt.Errorf("unknown event %q", ev.Ev)
	}
	states.set(ev.Row, s)
	return nil
}

// cutTorn removes the torn last line of the journal at path, torn bytes
// long, so that the next event starts a line of its own.
func cutTorn(path string, torn int64) error {
	st, err := os.Stat(path)
	if err == nil {
		err = os.Truncate(path, st.Size()-torn)
	}
	if err != nil {
		return &LocalError{Op: "repairing the journal", Path: path, Err: err}
	}
	return nil
}

// openJournal opens the journal for appending, writing h first when the
// file is new or restart is set.
func openJournal(path string, h *journalHeader, fresh bool) (*journal, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if fresh {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, &LocalError{Op: "opening the journal", Path: path, Err: err}
	}
	j := &journal{path: path, f: f, w: bufio.NewWriter(f)}
	j.synced = sync.NewCond(&j.mu)
	if fresh {
		h.Started = time.Now().UTC().Format(time.RFC3339)
		if err := j.append(h); err != nil {
			f.Close()
			return nil, err
		}
		if err := j.sync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return j, nil
}

func (j *journal) append(v any) error {
	var buf [160]byte
	var line []byte
	var err error
	ev, isEvent := v.(event)
	if isEvent {
		line, err = appendEvent(buf[:0], ev)
	} else {
		line, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if _, err := j.w.Write(line); err != nil {
		j.err = &LocalError{Op: "writing the journal", Path: j.path, Err: err}
		return j.err
	}
	j.written++
	if isEvent && ev.Ev == "started" {
		j.starts++
	}
	return nil
}

// sync writes out and fsyncs every event appended so far, with the events
// of others that came in meanwhile: one write and one fsync for all. One
// caller at a time leads an fsync; the others wait for it, and those it
// covered return as soon as it ends.
func (j *journal) sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	target := j.written
	for j.syncing && j.done < target {
		j.synced.Wait()
	}
	if j.done >= target {
		return nil
	}
	if j.err != nil {
		return j.err // an fsync that failed once is not tried again
	}
	j.syncing = true
	if j.lastStarts >= commitStarts {
		if wait := commitEvery - time.Since(j.lastSync); wait > 0 {
			j.waits++
			j.mu.Unlock()
			time.Sleep(wait) // the starts of this moment join the fsync
			j.mu.Lock()
		}
	}
	target, starts := j.written, j.starts
	err := j.w.Flush()
	if err == nil {
		j.mu.Unlock() // appends go on during the fsync
		err = j.f.Sync()
		j.mu.Lock()
	}
	j.syncing = false
	j.lastSync, j.lastStarts, j.doneStarts = time.Now(), starts-j.doneStarts, starts
	j.fsyncs++
	if err == nil {
		j.done = target
	} else if j.err == nil {
		j.err = &LocalError{Op: "writing the journal", Path: j.path, Err: err}
	}
	j.synced.Broadcast()
	if err != nil {
		return j.err
	}
	return nil
}

// started records, durably, that row is about to be sent.
func (j *journal) started(row int) error {
	if err := j.append(event{Row: row, Ev: "started"}); err != nil {
		return err
	}
	return j.sync()
}

func (j *journal) close() error {
	err := j.sync()
	if cerr := j.f.Close(); err == nil && cerr != nil {
		err = &LocalError{Op: "closing the journal", Path: j.path, Err: cerr}
	}
	return err
}
