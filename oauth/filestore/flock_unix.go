//go:build unix

package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/leadwaycrm/leadway/oauth"
)

type lockMode int

const (
	lockShared lockMode = iota
	lockExclusive
)

func flockSupported() error { return nil }

// lockFile takes an flock of path, waiting for it, and returns its release.
func lockFile(path string, mode lockMode) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	how := syscall.LOCK_SH
	if mode == lockExclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// fileLease is a refresh lock held as an flock on an open file.
type fileLease struct{ f *os.File }

// tryLock takes an exclusive flock of path without waiting.
func tryLock(path string) (*fileLease, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, oauth.ErrLocked
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: locking %s: %w", path, err)
	}
	return &fileLease{f: f}, nil
}

// Extend does nothing: an flock lasts while its holder lives.
func (l *fileLease) Extend(context.Context) error { return nil }

// Release frees the lock.
func (l *fileLease) Release(context.Context) error { return l.f.Close() }
