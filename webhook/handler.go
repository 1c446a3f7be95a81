package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
)

// NewHandler returns an http.Handler that receives HighLevel's webhooks and
// calls fn once per delivery, with the event verified and decoded. For each
// POST it, in order:
//
//   - refuses a missing or malformed X-GHL-Signature header (401) before
//     reading the body;
//   - reads the body under the size cap ([WithMaxBodyBytes]; 413 over it);
//   - verifies the signature over the exact bytes with the public keys
//     ([WithPublicKey]; 401 when none verifies);
//   - decodes the event ([Decode]; 400 for a body that is not an event);
//   - refuses a timestamp older than the max age or ahead of the clock by
//     more than the skew ([WithMaxAge], [WithMaxSkew]; 401), except for
//     the redelivery of an event answered 429, which keeps its first
//     timestamp and is accepted until the horizon ([WithRedeliveryHorizon]);
//   - claims the webhookId in the seen store ([WithSeen]): a duplicate of a
//     processed delivery is answered 200 without calling fn, and a copy
//     that arrives while fn runs for another is answered 429;
//   - calls fn: 200 when it returns nil, and the id counts as seen; 429
//     when it fails or panics, and the id is released and awaited, so that
//     HighLevel's redelivery runs fn again. 429 is the one answer HighLevel
//     delivers again after; it drops an event answered 5xx for good, so the
//     handler never answers 5xx.
//
// Other methods are answered 405. Answers are short plain text naming the
// kind of refusal, never echoing the body or fn's error; [WithErrorFunc]
// gets the details. fn runs on the request's goroutine with a context that
// keeps the request's values but is not cancelled when the sender hangs up,
// since HighLevel does not deliver again an event it gave up waiting for.
// HighLevel expects a quick answer: fn should hand slow work to a queue.
//
// NewHandler returns an error when fn is nil or an option is invalid.
func NewHandler(fn func(ctx context.Context, e *Event) error, opts ...Option) (http.Handler, error) {
	if fn == nil {
		return nil, errors.New("webhook: NewHandler: nil function")
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.seen == nil {
		cfg.seen = newMemoryStore(DefaultSeenLimit, cfg.now)
	}
	var prefix [8]byte
	_, _ = rand.Read(prefix[:]) // never fails on supported platforms
	return &handler{cfg: cfg, fn: fn, ownerPrefix: hex.EncodeToString(prefix[:]) + "-"}, nil
}

type handler struct {
	cfg config
	fn  func(ctx context.Context, e *Event) error
	// Claim owners are ownerPrefix plus a counter: unique across replicas
	// without a random read per delivery.
	ownerPrefix string
	owners      atomic.Uint64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, id, err := h.handle(w, r)
	if err != nil && h.cfg.errorsTo != nil {
		h.cfg.errorsTo(r, &DeliveryError{Status: status, WebhookID: id, Err: err})
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusMethodNotAllowed {
		hdr.Set("Allow", http.MethodPost)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answerText(status, err))
}

// handle runs the steps of NewHandler's documentation and returns the
// status to answer, the delivery's id when known, and what went wrong.
func (h *handler) handle(w http.ResponseWriter, r *http.Request) (int, string, error) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "", ErrMethodNotAllowed
	}
	sig := r.Header.Get(SignatureHeader)
	if _, err := decodeSignature(sig); err != nil {
		return http.StatusUnauthorized, "", err
	}
	body, err := readBody(w, r, h.cfg.maxBody)
	if err != nil {
		var tooLarge *TooLargeError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, "", err
		}
		return http.StatusBadRequest, "", err
	}
	if err := verifyAny(body, sig, h.cfg.keys); err != nil {
		return http.StatusUnauthorized, "", err
	}
	ev, err := Decode(body)
	if err != nil {
		return http.StatusBadRequest, "", err
	}
	late, err := h.checkTime(ev.Timestamp)
	if err != nil {
		return http.StatusUnauthorized, ev.WebhookID, err
	}
	status, err := h.process(r.Context(), ev, late)
	return status, ev.WebhookID, err
}

// checkTime refuses a timestamp ahead of the clock by more than the skew,
// or older than the redelivery horizon. It reports as late a timestamp
// older than the max age but within the horizon: that delivery passes
// only as the redelivery of an event answered 429 (see process).
func (h *handler) checkTime(ts time.Time) (late bool, err error) {
	now := h.cfg.now()
	age := now.Sub(ts)
	if -age > h.cfg.maxSkew || age > max(h.cfg.maxAge, h.cfg.horizon) {
		return false, h.stale(ts, now)
	}
	return age > h.cfg.maxAge, nil
}

func (h *handler) stale(ts, now time.Time) *StaleError {
	return &StaleError{Timestamp: ts, Now: now, MaxAge: h.cfg.maxAge, MaxSkew: h.cfg.maxSkew}
}

// process runs fn once per webhookId: claim, run, then done or release.
// A late delivery may claim only an id that a failed attempt released.
func (h *handler) process(ctx context.Context, ev *Event, late bool) (int, error) {
	owner := h.ownerPrefix + strconv.FormatUint(h.owners.Add(1), 10)
	ttl := h.cfg.maxAge + h.cfg.maxSkew
	claimFn := h.cfg.seen.Claim
	if late {
		claimFn = h.cfg.seen.ClaimRedelivery
	}
	claim, err := claimFn(ctx, ev.WebhookID, owner, ttl)
	switch {
	case err != nil:
		return http.StatusTooManyRequests, &StoreError{Op: "claim", Err: err}
	case claim == AlreadySeen:
		return http.StatusOK, nil
	case claim == InProgress:
		return http.StatusTooManyRequests, ErrInProgress
	case claim == NotAwaited && late:
		return http.StatusUnauthorized, h.stale(ev.Timestamp, h.cfg.now())
	case claim != Claimed:
		return http.StatusTooManyRequests, &StoreError{Op: "claim", Err: fmt.Errorf("unknown answer %d", claim)}
	}
	// What follows the claim must happen even if the sender hangs up.
	ctx = context.WithoutCancel(ctx)
	if herr := h.run(ctx, ev); herr != nil {
		var err error = herr
		// The redeliveries keep the first timestamp: await them until the
		// horizon, counted from it.
		wait := ev.Timestamp.Add(h.cfg.horizon).Sub(h.cfg.now())
		if rerr := h.cfg.seen.Release(ctx, ev.WebhookID, owner, wait); rerr != nil {
			err = errors.Join(herr, &StoreError{Op: "release", Err: rerr})
		}
		if herr.Panic == http.ErrAbortHandler {
			panic(http.ErrAbortHandler) // the function asked for the connection to be cut
		}
		return http.StatusTooManyRequests, err
	}
	if err := h.cfg.seen.Done(ctx, ev.WebhookID, ttl); err != nil {
		return http.StatusOK, &StoreError{Op: "done", Err: err}
	}
	return http.StatusOK, nil
}

// run calls fn, turning a panic into a *HandlerError like a failure.
func (h *handler) run(ctx context.Context, ev *Event) (herr *HandlerError) {
	defer func() {
		if p := recover(); p != nil {
			herr = &HandlerError{Err: fmt.Errorf("panic: %v", p), Panic: p, Stack: debug.Stack()}
		}
	}()
	if err := h.fn(ctx, ev); err != nil {
		return &HandlerError{Err: err}
	}
	return nil
}

// readBody reads the body under limit. Reading stops at the limit, and
// net/http then closes the connection rather than drain the rest.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1 // +1 sees the end without growing
	}
	// A declared length sizes the buffer only up to 64 KiB: beyond, memory
	// follows the bytes that actually arrive.
	buf := make([]byte, 0, min(size, limit+1, 64<<10))
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		var tooLarge *http.MaxBytesError
		switch {
		case err == io.EOF:
			return buf, nil
		case errors.As(err, &tooLarge):
			return nil, &TooLargeError{Limit: limit}
		case err != nil:
			return nil, fmt.Errorf("webhook: reading the body: %w", err)
		}
	}
}

// answerText is the body of an answer: the kind of outcome, never data
// from the request or from fn.
func answerText(status int, err error) string {
	var (
		sig   *SignatureError
		stale *StaleError
		dec   *DecodeError
	)
	switch {
	case status == http.StatusOK:
		return "ok\n"
	case errors.As(err, &sig):
		return "signature refused: " + sig.Reason.Error() + "\n"
	case errors.As(err, &stale):
		return "timestamp outside the accepted window\n"
	case errors.As(err, &dec):
		return "not an event\n"
	case errors.Is(err, ErrInProgress):
		return "another copy of this delivery is being processed; deliver it again later\n"
	case status == http.StatusTooManyRequests:
		return "not processed; deliver it again later\n"
	}
	return http.StatusText(status) + "\n"
}
