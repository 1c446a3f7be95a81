package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/leadwaycrm/leadway/webhook"
)

// forwardTimeout bounds a post to the local app, so that a stuck app makes
// the sender deliver again rather than wait.
const forwardTimeout = 10 * time.Second

// listener prints what the webhook handler takes or refuses, and forwards
// what it takes.
type listener struct {
	e       env
	forward *url.URL // nil: print only
	client  *http.Client

	mu             sync.Mutex // serialises output lines and guards the counts
	taken, refusal int
}

func newListener(e env, forward *url.URL) *listener {
	return &listener{e: e, forward: forward, client: &http.Client{
		Timeout: forwardTimeout,
		// The app answers where it was told to; a redirect is a refusal.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
	}}
}

// take is the handler's function: print the event, then forward it. An
// error makes the handler answer 429, so the sender delivers it again.
func (l *listener) take(ctx context.Context, ev *webhook.Event) error {
	var line bytes.Buffer
	if err := json.Compact(&line, ev.Raw); err != nil {
		line.Reset()
		line.Write(ev.Raw) // decoded already, so never; print it as it came
	}
	line.WriteByte('\n')
	l.mu.Lock()
	l.taken++
	_, _ = l.e.stdout.Write(line.Bytes())
	l.mu.Unlock()
	if l.forward == nil {
		return nil
	}
	return l.post(ctx, ev.Raw, signatureFrom(ctx))
}

// post forwards one event to the app, byte for byte, with its signature.
func (l *listener) post(ctx context.Context, body []byte, sig string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.forward.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.SignatureHeader, sig)
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("forward to %s: %w", l.forward.Redacted(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("forward to %s: the app answered %s", l.forward.Redacted(), resp.Status)
	}
	return nil
}

// refused reports a delivery not answered 200, or a 200 with a problem.
func (l *listener) refused(_ *http.Request, err *webhook.DeliveryError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err.Status != http.StatusOK {
		l.refusal++
	}
	fmt.Fprintf(l.e.stderr, "%v\n", err)
}

func (l *listener) counts() (taken, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taken, l.refusal
}

func (l *listener) close() { l.client.CloseIdleConnections() }

// signatureKey carries a delivery's X-GHL-Signature to take, which
// forwards it with the body.
type signatureKey struct{}

func withSignature(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), signatureKey{}, r.Header.Get(webhook.SignatureHeader))
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func signatureFrom(ctx context.Context) string {
	s, _ := ctx.Value(signatureKey{}).(string)
	return s
}
