package leadwaytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Bounds of the webhook sender, so that a test that upserts without end, or
// a receiver that never answers, cannot exhaust memory or stall a test.
const (
	webhookTimeout       = 10 * time.Second
	maxWebhookQueue      = 10_000
	maxRecordedWebhooks  = 10_000
	maxWebhookAnswerRead = 64 << 10
)

// WebhookOutcome is what became of an event the fake sent.
type WebhookOutcome int

const (
	// WebhookPending: queued, being sent, or waiting to be sent again
	// after a 429 (or left so when the fake closed).
	WebhookPending WebhookOutcome = iota
	// WebhookDelivered: the receiver answered 2xx.
	WebhookDelivered
	// WebhookDropped: the receiver answered something other than 2xx or
	// 429 (a 5xx, for one), or could not be reached. HighLevel drops such
	// an event for good.
	WebhookDropped
	// WebhookExhausted: the receiver answered 429 to every attempt.
	WebhookExhausted
)

func (o WebhookOutcome) String() string {
	switch o {
	case WebhookPending:
		return "pending"
	case WebhookDelivered:
		return "delivered"
	case WebhookDropped:
		return "dropped"
	case WebhookExhausted:
		return "exhausted"
	}
	return fmt.Sprintf("WebhookOutcome(%d)", int(o))
}

// WebhookAttempt is one POST of an event.
type WebhookAttempt struct {
	// Status is the receiver's answer, or 0 when none came.
	Status int
	// Err says why no answer came, such as a refused connection.
	Err string
}

// WebhookDelivery is an event the fake sent, with every attempt.
type WebhookDelivery struct {
	// Type is the event's type, such as OpportunityStageUpdate.
	Type string
	// WebhookID is the delivery's id, the same in every attempt.
	WebhookID string
	// OpportunityID is the id of the opportunity the event is about.
	OpportunityID string
	// Body is the JSON body, the same bytes in every attempt.
	Body []byte
	// Signature is the X-GHL-Signature value sent with Body.
	Signature string
	// Attempts lists each POST, first to last.
	Attempts []WebhookAttempt
	// Outcome is what became of the event.
	Outcome WebhookOutcome
}

// sender delivers events one at a time, in order, and schedules the
// redeliveries 429s ask for. Its mutex guards everything below it; it never
// takes the Server's.
type sender struct {
	url      string
	interval time.Duration
	attempts int
	client   *http.Client
	logger   *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{} // closed when the worker has stopped

	mu      sync.Mutex
	queue   []*WebhookDelivery
	all     []*WebhookDelivery // the most recent events, oldest first
	timers  map[*time.Timer]struct{}
	pending int
	idle    chan struct{} // closed while nothing is pending
	wake    chan struct{}
	closed  bool
}

func newSender(cfg webhookConfig, rt http.RoundTripper, logger *slog.Logger) *sender {
	if !cfg.retrySet {
		cfg.interval, cfg.attempts = DefaultWebhookRetryInterval, DefaultWebhookRetryAttempts
	}
	ctx, cancel := context.WithCancel(context.Background())
	sn := &sender{
		url: cfg.url, interval: cfg.interval, attempts: cfg.attempts, logger: logger,
		client: &http.Client{
			Transport: rt,
			Timeout:   webhookTimeout,
			// HighLevel posts to the URL it was given; a redirect is an
			// answer like any other non-2xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx: ctx, cancel: cancel,
		done:   make(chan struct{}),
		timers: make(map[*time.Timer]struct{}),
		idle:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
	}
	close(sn.idle)
	go sn.run()
	return sn
}

// enqueue records a new event and queues its first attempt.
func (sn *sender) enqueue(d *WebhookDelivery) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if len(sn.all) >= maxRecordedWebhooks {
		sn.all = sn.all[1:]
	}
	sn.all = append(sn.all, d)
	if sn.closed || len(sn.queue) >= maxWebhookQueue {
		d.Outcome = WebhookDropped
		d.Attempts = append(d.Attempts, WebhookAttempt{Err: "the fake's send queue was full or closed"})
		return
	}
	if sn.pending == 0 {
		sn.idle = make(chan struct{})
	}
	sn.pending++
	sn.push(d)
}

// push queues an attempt and wakes the worker.
func (sn *sender) push(d *WebhookDelivery) {
	sn.queue = append(sn.queue, d)
	select {
	case sn.wake <- struct{}{}:
	default:
	}
}

func (sn *sender) run() {
	defer close(sn.done)
	for {
		d, body, sig := sn.next()
		if d == nil {
			return
		}
		status, err := sn.post(body, sig)
		sn.settle(d, status, err)
	}
}

// next waits for a queued attempt; nil when the sender is closing.
func (sn *sender) next() (*WebhookDelivery, []byte, string) {
	for {
		sn.mu.Lock()
		if len(sn.queue) > 0 {
			d := sn.queue[0]
			sn.queue[0] = nil
			sn.queue = sn.queue[1:]
			sn.mu.Unlock()
			return d, d.Body, d.Signature // Body and Signature never change
		}
		sn.mu.Unlock()
		select {
		case <-sn.wake:
		case <-sn.ctx.Done():
			return nil, nil, ""
		}
	}
}

// post sends one attempt and returns the status, or the error that kept an
// answer from coming.
func (sn *sender) post(body []byte, sig string) (int, error) {
	req, err := http.NewRequestWithContext(sn.ctx, http.MethodPost, sn.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GHL-Signature", sig)
	resp, err := sn.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswerRead))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// settle records an attempt and decides what comes next, by HighLevel's
// rule: 2xx delivered, 429 again after the interval, anything else dropped.
func (sn *sender) settle(d *WebhookDelivery, status int, err error) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.closed { // cut short by Close: stays pending
		d.Attempts = append(d.Attempts, WebhookAttempt{Err: "the fake was closed"})
		return
	}
	a := WebhookAttempt{Status: status}
	if err != nil {
		a.Err = err.Error()
	}
	d.Attempts = append(d.Attempts, a)
	switch {
	case status >= 200 && status < 300:
		sn.finish(d, WebhookDelivered)
	case status == http.StatusTooManyRequests && len(d.Attempts) <= sn.attempts:
		var t *time.Timer
		t = time.AfterFunc(sn.interval, func() {
			sn.mu.Lock()
			defer sn.mu.Unlock()
			delete(sn.timers, t)
			if !sn.closed {
				sn.push(d)
			}
		})
		sn.timers[t] = struct{}{}
	case status == http.StatusTooManyRequests:
		sn.finish(d, WebhookExhausted)
	default:
		sn.finish(d, WebhookDropped)
	}
	if sn.logger != nil {
		sn.logger.Info("leadwaytest: webhook", slog.String("type", d.Type), slog.String("webhookId", d.WebhookID),
			slog.Int("attempt", len(d.Attempts)), slog.Int("status", status), slog.String("outcome", d.Outcome.String()))
	}
}

func (sn *sender) finish(d *WebhookDelivery, o WebhookOutcome) {
	d.Outcome = o
	sn.pending--
	if sn.pending == 0 {
		close(sn.idle)
	}
}

// close stops the worker and every scheduled redelivery, and wakes
// waiters. Events not delivered by then stay pending.
func (sn *sender) close() {
	sn.mu.Lock()
	sn.closed = true
	for t := range sn.timers {
		t.Stop()
	}
	clear(sn.timers)
	if sn.pending > 0 {
		close(sn.idle)
	}
	sn.mu.Unlock()
	sn.cancel()
	<-sn.done
	sn.client.CloseIdleConnections()
}

// list returns deep copies of the recorded events, oldest first, those
// keep selects only.
func (sn *sender) list(keep func(WebhookOutcome) bool) []WebhookDelivery {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	out := make([]WebhookDelivery, 0, len(sn.all))
	for _, d := range sn.all {
		if keep(d.Outcome) {
			c := *d
			c.Body = bytes.Clone(d.Body)
			c.Attempts = append([]WebhookAttempt(nil), d.Attempts...)
			out = append(out, c)
		}
	}
	return out
}

// wait returns when nothing is pending, or ctx ends, or the fake closes.
func (sn *sender) wait(ctx context.Context) error {
	sn.mu.Lock()
	idle := sn.idle
	sn.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.closed && sn.pending > 0 {
		return errWebhooksClosed
	}
	return nil
}

// Webhooks returns the events the fake sent, or is sending, oldest first,
// with their attempts and outcome. Only the most recent 10,000 are kept.
// Without [WithWebhook] it returns none.
func (s *Server) Webhooks() []WebhookDelivery {
	if s.hooks == nil {
		return nil
	}
	return s.hooks.list(func(WebhookOutcome) bool { return true })
}

// LostWebhooks returns the events production would lose: dropped after a
// 5xx, another refusal or an unreachable receiver, or answered 429 until
// the attempts ran out.
func (s *Server) LostWebhooks() []WebhookDelivery {
	if s.hooks == nil {
		return nil
	}
	return s.hooks.list(func(o WebhookOutcome) bool { return o == WebhookDropped || o == WebhookExhausted })
}

// WaitWebhooks waits until every event sent so far is delivered, dropped or
// exhausted, redeliveries included; or until ctx ends (its error is
// returned), or the fake closes with events pending (an error says so).
// Without [WithWebhook] it returns nil at once.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	if s.hooks == nil {
		return nil
	}
	return s.hooks.wait(ctx)
}
