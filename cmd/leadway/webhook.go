package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/leadwaycrm/leadway/webhook"
	"github.com/spf13/cobra"
)

const listenLong = `Runs a receiver of HighLevel's opportunity webhooks on this machine until
interrupted (Ctrl-C or SIGTERM), to see what a service would get. It answers
as package webhook's handler does: it verifies each delivery's X-GHL-Signature
over the exact bytes, refuses a timestamp older than --max-age, drops copies
of a delivery it already took, and prints each event it takes on stdout, one
JSON object per line, as the sender wrote it (pipe it to jq). Refusals and
failures go to stderr.

It verifies with HighLevel's published key unless --public-key names another;
to receive what "leadway fake --webhook-url" sends, pass the fake's test key,
which "leadway fake" prints.

With --forward, each event taken is posted on, byte for byte with its
X-GHL-Signature, to a local app; when the app does not answer 2xx, the
listener answers 429, so the sender delivers the event again later.

Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  1  could not listen on --addr, or the server failed
  2  usage: an unknown flag, or a --public-key, --forward or --max-age the
     command cannot use`

// listenFlags holds the listen command's flags.
type listenFlags struct {
	addr, publicKey, forward string
	maxAge                   time.Duration
}

func newWebhookCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Receive HighLevel's webhooks on this machine",
		Args:  cobra.NoArgs,
		// No subcommand is a usage mistake, as for the root command.
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(e.stderr, cmd.UsageString())
			return status(exitUsage)
		},
	}
	cmd.AddCommand(newListenCmd(e))
	return cmd
}

func newListenCmd(e env) *cobra.Command {
	f := &listenFlags{}
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Verify and print the webhooks sent here; optionally forward them",
		Long:  listenLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(runListen(cmd.Context(), f, e))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8081", "`address` to listen on, such as :8081 for every interface; port 0 picks a free one")
	fs.StringVar(&f.publicKey, "public-key", "", "Ed25519 public `key` to verify with, base64 SPKI as HighLevel publishes it (default HighLevel's)")
	fs.StringVar(&f.forward, "forward", "", "post each event taken on to this `URL`, such as http://127.0.0.1:3000/webhooks")
	fs.DurationVar(&f.maxAge, "max-age", webhook.DefaultMaxAge, "refuse deliveries whose timestamp is older than this")
	return cmd
}

// listenConfig turns the flags into the handler's options and the forward
// target, or a usage error naming the flag.
func listenConfig(f *listenFlags) ([]webhook.Option, *url.URL, error) {
	opts := []webhook.Option{webhook.WithMaxAge(f.maxAge)}
	if f.publicKey != "" {
		key, err := webhook.ParsePublicKey(f.publicKey)
		if err != nil {
			return nil, nil, usageErrorf("webhook listen: --public-key: %v", err)
		}
		opts = append(opts, webhook.WithPublicKey(key))
	}
	if f.maxAge < time.Second || f.maxAge > 24*time.Hour {
		return nil, nil, usageErrorf("webhook listen: --max-age %s: must be between 1s and 24h", f.maxAge)
	}
	if f.forward == "" {
		return opts, nil, nil
	}
	u, err := url.Parse(f.forward)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageErrorf("webhook listen: --forward %q: must be an absolute http or https URL", f.forward)
	}
	return opts, u, nil
}

func runListen(ctx context.Context, f *listenFlags, e env) int {
	opts, forwardTo, err := listenConfig(f)
	if err != nil {
		return fail(e, err)
	}
	l := newListener(e, forwardTo)
	defer l.close()
	h, err := webhook.NewHandler(l.take, append(opts, webhook.WithErrorFunc(l.refused))...)
	if err != nil {
		return fail(e, usageErrorf("webhook listen: %v", err))
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		report(e, fmt.Errorf("webhook listen: %w", err))
		return exitFailure
	}
	srv := &http.Server{Handler: withSignature(h), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "Listening for webhooks on http://%s\n", dialAddr(ln.Addr()))
	if forwardTo != nil {
		fmt.Fprintf(e.stderr, "Forwarding each event taken to %s\n", forwardTo.Redacted())
	}

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-served:
		report(e, fmt.Errorf("webhook listen: %w", err))
		code = exitFailure
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		report(e, fmt.Errorf("webhook listen: %w", err))
	}
	taken, refused := l.counts()
	fmt.Fprintf(e.stderr, "Stopped after %d events taken, %d deliveries not taken.\n", taken, refused)
	return code
}

// dialAddr is where a local sender reaches a listener: one on every
// address (":8081") through 127.0.0.1.
func dialAddr(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
	}
	return addr.String()
}
