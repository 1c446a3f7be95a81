package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

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
