// Package filestore keeps OAuth installs in one JSON file, for the
// commands of one machine, such as leadway auth login. It implements
// [oauth.Store]:
//
//	store, err := filestore.Open(filepath.Join(dir, "installs.json"))
//	mgr, err := oauth.NewManager(cfg, store)
//
// The file holds refresh tokens, so it is created with mode 0600 in a
// directory of mode 0700, and a file that others may read or write is
// refused. Writes go to a temporary file that replaces the store with a
// rename, so a crash leaves the old file or the new one, never half of one.
//
// Locks are flock(2) locks, which die with the process: a command killed
// midway leaves no lock behind. Reads and writes of the file take
// <file>.lock; each install's refresh lock is a file of its own in
// <file>.locks/, so that two commands on one machine never redeem one
// refresh token. Leases are not needed: the kernel frees a dead holder's
// lock at once. flock is not available on every platform; where it is not,
// Open fails and a shared store (redis://) is the way.
package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
)

// file is what the store file holds.
type file struct {
	Version  int                       `json:"version"`
	Installs map[string]*oauth.Install `json:"installs"`
}

// maxFileBytes bounds the store file that is read.
const maxFileBytes = 64 << 20

// Store is an [oauth.Store] in a JSON file.
type Store struct {
	path string
}

// Open returns the store in the file at path, creating its directory (mode
// 0700) if needed; the file itself is created by the first install saved.
// A file that exists must be a regular file that only its owner may read
// and write (mode 0600 or stricter), holding the store's JSON.
func Open(path string) (*Store, error) {
	if err := flockSupported(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	s := &Store{path: path}
	if err := s.withLock(lockShared, func() error { _, err := s.read(); return err }); err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the file the store keeps installs in.
func (s *Store) Path() string { return s.path }

// String names the store in messages.
func (s *Store) String() string { return s.path }

// read loads the file; a missing one is an empty store. It checks the
// mode first: the file holds secrets.
func (s *Store) read() (*file, error) {
	f := &file{Version: 1, Installs: map[string]*oauth.Install{}}
	info, err := os.Lstat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("filestore: %s is not a regular file", s.path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("filestore: %s has mode %04o, but it holds refresh tokens: only its owner may read it (chmod 600 %s)", s.path, perm, s.path)
	}
	if info.Size() > maxFileBytes {
		return nil, fmt.Errorf("filestore: %s is larger than %d bytes", s.path, maxFileBytes)
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if err := json.Unmarshal(data, f); err != nil {
		// The file holds secrets: say where it is broken, not what it holds.
		var syn *json.SyntaxError
		where := ""
		if errors.As(err, &syn) {
			where = fmt.Sprintf(" (at byte %d)", syn.Offset)
		}
		return nil, fmt.Errorf("filestore: %s is not the store's JSON%s: fix it, or remove it and authorize again", s.path, where)
	}
	if f.Installs == nil {
		f.Installs = map[string]*oauth.Install{}
	}
	return f, nil
}

// write replaces the file with f, through a temporary file and a rename.
func (s *Store) write(f *file) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".*")
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	// A full disk fails the write or the sync: the old file then stays.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(data, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("filestore: saving %s: %w", s.path, err)
	}
	if dir, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = dir.Sync() // the rename itself is durable
		dir.Close()
	}
	return nil
}

// Get returns the install under key.
func (s *Store) Get(_ context.Context, key string) (*oauth.Install, error) {
	var in *oauth.Install
	err := s.withLock(lockShared, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		in = f.Installs[key]
		return nil
	})
	if err == nil && in == nil {
		err = oauth.ErrNotFound
	}
	return in, err
}

// Put stores in under key.
func (s *Store) Put(_ context.Context, key string, in *oauth.Install) error {
	return s.update(func(f *file) { f.Installs[key] = in })
}

// Delete removes key.
func (s *Store) Delete(_ context.Context, key string) error {
	return s.update(func(f *file) { delete(f.Installs, key) })
}

func (s *Store) update(change func(*file)) error {
	return s.withLock(lockExclusive, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		change(f)
		return s.write(f)
	})
}

// List returns the keys, sorted.
func (s *Store) List(context.Context) ([]string, error) {
	var keys []string
	err := s.withLock(lockShared, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		keys = slices.Sorted(maps.Keys(f.Installs))
		return nil
	})
	return keys, err
}

// Lock takes the refresh lock of key, a file in <file>.locks/, or returns
// oauth.ErrLocked when another holder has it. The lease is not needed: the
// lock dies with its holder.
func (s *Store) Lock(_ context.Context, key string, _ time.Duration) (oauth.Lease, error) {
	dir := s.path + ".locks"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	sum := sha256.Sum256([]byte(key))
	l, err := tryLock(filepath.Join(dir, hex.EncodeToString(sum[:8])+".lock"))
	if err != nil {
		return nil, err
	}
	return l, nil
}

// withLock runs fn holding <file>.lock in the given mode.
func (s *Store) withLock(mode lockMode, fn func() error) error {
	unlock, err := lockFile(s.path+".lock", mode)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
