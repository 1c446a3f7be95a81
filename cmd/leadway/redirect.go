package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// errStateMismatch is a redirect that does not belong to this login.
var errStateMismatch = errors.New("auth login: the redirect's state does not match this login's (a stale browser tab or a forged request); nothing was stored, run leadway auth login again")

// refusedError is an authorization the user or the Marketplace refused.
type refusedError struct{ code string }

func (e *refusedError) Error() string {
	return "auth login: the authorization was refused (" + e.code + "); nothing was stored"
}

// awaitCode serves the redirect on ln until one arrives at path, and
// returns its code once its state is this login's.
func awaitCode(ctx context.Context, ln net.Listener, path, state string) (string, error) {
	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case !sameState(q.Get("state"), state):
			res.err = errStateMismatch
		case q.Get("error") != "":
			res.err = &refusedError{code: printable(q.Get("error"))}
		case q.Get("code") == "":
			res.err = errors.New("auth login: the redirect carries no code; nothing was stored")
		default:
			res.code = q.Get("code")
		}
		page(w, res.err)
		select {
		case results <- res:
		default: // a second redirect: the first one decides
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	select {
	case res := <-results:
		return res.code, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// page tells the browser how the login went.
func page(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	msg := "The app is installed. You can close this window and go back to the terminal."
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		msg = strings.TrimPrefix(err.Error(), "auth login: ")
	}
	fmt.Fprintf(w, "<!doctype html><title>leadway auth login</title><p>%s</p>\n", html.EscapeString(msg))
}

// printable keeps an error code from the redirect short and on one line.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// openBrowser opens url with $BROWSER (a command, the URL appended), else
// the desktop's opener where there is one. It returns the command it ran,
// or "" when there was none.
func openBrowser(e env, url string) string {
	var argv []string
	switch b := e.getenv("BROWSER"); {
	case b != "":
		argv = strings.Fields(b)
	case runtime.GOOS == "darwin":
		argv = []string{"open"}
	case runtime.GOOS == "windows":
		argv = []string{"rundll32", "url.dll,FileProtocolHandler"}
	case e.getenv("DISPLAY") != "" || e.getenv("WAYLAND_DISPLAY") != "":
		argv = []string{"xdg-open"}
	default:
		return "" // no desktop: the printed URL is the way
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return ""
	}
	cmd := exec.Command(path, append(argv[1:], url)...)
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return ""
	}
	go func() { _ = cmd.Wait() }()
	return argv[0]
}
