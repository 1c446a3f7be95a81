//go:build !unix

package filestore

import (
	"context"
	"errors"
)

type lockMode int

const (
	lockShared lockMode = iota
	lockExclusive
)

var errNoFlock = errors.New("filestore: this platform has no flock; keep installs in a shared store (redis://) instead")

func flockSupported() error { return errNoFlock }

func lockFile(string, lockMode) (func(), error) { return nil, errNoFlock }

type fileLease struct{}

func tryLock(string) (*fileLease, error) { return nil, errNoFlock }

func (l *fileLease) Extend(context.Context) error  { return errNoFlock }
func (l *fileLease) Release(context.Context) error { return errNoFlock }
