package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/spf13/pflag"
)

// webhookFlags are the fake command's flags for sending webhooks.
type webhookFlags struct {
	url      string
	interval time.Duration
	attempts int
}

func (w *webhookFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&w.url, "webhook-url", "", "after each upsert, send HighLevel's opportunity webhooks, signed with the fake's test key, to this `URL`")
	fs.DurationVar(&w.interval, "webhook-retry-interval", leadwaytest.DefaultWebhookRetryInterval, "wait this long before delivering again an event answered 429")
	fs.IntVar(&w.attempts, "webhook-retry-attempts", leadwaytest.DefaultWebhookRetryAttempts, "deliver an event answered 429 again at most this many times")
}

// options returns the fake's options for the flags, or a usage error that
// names the flag.
func (w *webhookFlags) options() ([]leadwaytest.Option, error) {
	if w.url == "" {
		return nil, nil
	}
	if u, err := url.Parse(w.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("fake: --webhook-url %q: must be an absolute http or https URL", w.url)
	}
	if w.interval < time.Millisecond {
		return nil, usageErrorf("fake: --webhook-retry-interval %s: must be at least 1ms", w.interval)
	}
	if w.attempts < 0 || w.attempts > 100 {
		return nil, usageErrorf("fake: --webhook-retry-attempts %d: must be between 0 and 100", w.attempts)
	}
	return []leadwaytest.Option{leadwaytest.WithWebhook(w.url), leadwaytest.WithWebhookRetry(w.interval, w.attempts)}, nil
}

func (w *webhookFlags) printStart(e env) {
	if w.url == "" {
		return
	}
	fmt.Fprintf(e.stdout, `
Webhooks go to %s, signed with the fake's test key. Receive them with:
  leadway webhook listen --public-key %s
`, w.url, leadwaytest.WebhookPublicKeySPKI)
}

// stopWebhookWait bounds how long a stopping fake lets its webhooks finish.
const stopWebhookWait = 2 * time.Second

// settle gives the webhooks being sent a moment to be answered before the
// fake stops, so that a delivery already at the receiver is counted as
// delivered rather than cut off and left pending.
func (w *webhookFlags) settle(srv *leadwaytest.Server) {
	if w.url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWebhookWait)
	defer cancel()
	_ = srv.WaitWebhooks(ctx) // what is still pending is counted by printStop
}

func (w *webhookFlags) printStop(e env, srv *leadwaytest.Server) {
	if w.url == "" {
		return
	}
	var delivered, lost, pending int
	for _, d := range srv.Webhooks() {
		switch d.Outcome {
		case leadwaytest.WebhookDelivered:
			delivered++
		case leadwaytest.WebhookPending:
			pending++
		default:
			lost++
		}
	}
	fmt.Fprintf(e.stdout, "Webhooks: %d delivered, %d lost (answered other than 2xx or 429, or unreachable), %d pending.\n", delivered, lost, pending)
}

// demoWebhooks returns the fake's options for demo --webhook-url.
func demoWebhooks(rawURL string) ([]leadwaytest.Option, error) {
	if rawURL == "" {
		return nil, nil
	}
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("demo: --webhook-url %q: must be an absolute http or https URL", rawURL)
	}
	return []leadwaytest.Option{leadwaytest.WithWebhook(rawURL)}, nil
}

// demoWebhookWait bounds how long the demo waits for its webhooks.
const demoWebhookWait = 10 * time.Second

// demoWaitWebhooks waits for the demo's webhooks, if it sends any, and says
// what became of them.
func demoWaitWebhooks(ctx context.Context, out io.Writer, srv *leadwaytest.Server) error {
	sent := srv.Webhooks()
	if len(sent) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, demoWebhookWait)
	defer cancel()
	_ = srv.WaitWebhooks(ctx) // what is still pending is counted below
	fmt.Fprintf(out, "\n3. The fake sent the webhooks of both changes:\n")
	for _, d := range srv.Webhooks() {
		fmt.Fprintf(out, "%s %s: %s\n", d.Type, d.WebhookID, d.Outcome)
	}
	return nil
}
