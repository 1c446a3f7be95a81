package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/leadwaycrm/leadway"
)

// Exit codes, one per kind of failure, so that scripts can tell a request
// to fix from one to retry later. The usage text documents them.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitAPI         = 3
	exitRateLimited = 4
	exitUnavailable = 5
)

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return "leadway: " + e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps an error to its exit code. The order matters: a
// RateLimitError and an UnknownOutcomeError also match *APIError.
func exitCode(err error) int {
	var (
		usage    *usageError
		invalid  *leadway.ValidationError
		limited  *leadway.RateLimitError
		unknown  *leadway.UnknownOutcomeError
		unusable *leadway.ResponseError
		api      *leadway.APIError
	)
	if code, ok := oauthExitCode(err); ok {
		return code
	}
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), errors.As(err, &invalid), errors.Is(err, leadway.ErrInvalidToken):
		return exitUsage
	case errors.As(err, &limited):
		return exitRateLimited
	case errors.As(err, &unknown), errors.As(err, &unusable):
		return exitUnavailable
	case errors.As(err, &api):
		if api.StatusCode >= 500 {
			return exitUnavailable
		}
		return exitAPI
	}
	return exitUnavailable // network errors, timeouts
}

// fail prints err and returns its exit code.
func fail(e env, err error) int {
	report(e, err)
	return exitCode(err)
}

// report prints err on one line of stderr, which is what scripts and log
// collectors expect of a command's error.
func report(e env, err error) {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if !strings.HasPrefix(msg, "leadway: ") {
		msg = "leadway: " + msg
	}
	fmt.Fprintln(e.stderr, msg)
}
