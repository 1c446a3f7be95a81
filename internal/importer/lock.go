package importer

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// LockedError refuses a run while another import holds the journal: two
// runs of one input would each send the rows the other has not finished.
type LockedError struct {
	// Journal is the journal's path.
	Journal string
	// PID is the holder's process id, 0 when unknown.
	PID int
}

func (e *LockedError) Error() string {
	who := "another import"
	if e.PID > 0 {
		who = fmt.Sprintf("another import (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is running with the journal %s; nothing was sent: wait for it to end, or stop it and run this command again", who, e.Journal)
}

// LocalError is a failure of this machine's files: the journal, the output
// files or the disk under them. Rows already recorded stay recorded; the
// next run goes on from the journal.
type LocalError struct {
	// Op is what was being done, such as "writing the journal".
	Op string
	// Path is the file or directory concerned.
	Path string
	// Err is the operating system's error.
	Err error
}

func (e *LocalError) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err) }
func (e *LocalError) Unwrap() error { return e.Err }

// JournalLock is the hold of one run on its journal.
type JournalLock struct{ f *os.File }

// Lock takes the journal's lock, a file JOURNAL.lock holding the holder's
// pid, with an OS file lock (flock) that the OS releases when the process
// ends, however it ends: a killed run never blocks the next one. A held
// lock is a *LockedError, at once.
func Lock(journal string) (*JournalLock, error) {
	path := journal + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &LocalError{Op: "opening the journal's lock", Path: path, Err: err}
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &LockedError{Journal: journal, PID: holder(path)}
		}
		return nil, &LocalError{Op: "locking the journal", Path: path, Err: err}
	}
	// The pid is only for the message of a run refused: a failure to
	// write it costs nothing else.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &JournalLock{f: f}, nil
}

// holder reads the pid the lock's holder wrote, 0 when there is none. A
// holder that has just taken the lock writes its pid a moment later: wait
// for it a little.
func holder(path string) int {
	for range 20 {
		data, _ := os.ReadFile(path)
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && n > 0 {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0
}

// Unlock releases the lock. The file stays, empty of meaning: removing it
// would race with a run that opened it and is about to lock it.
func (l *JournalLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}
