package leadway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// logAttempt logs one attempt at debug level. The Authorization header is
// never logged; bodies and headers only with WithBodyLogging.
func (t *transport) logAttempt(ctx context.Context, r *http.Request, attempt int, o outcome, took time.Duration, rl RateLimit) {
	l := t.cfg.logger
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("attempt", attempt),
		slog.Duration("took", took),
	}
	if o.err != nil {
		attrs = append(attrs, slog.String("error", o.err.Error()), slog.Bool("may_have_been_sent", o.sent))
	} else {
		attrs = append(attrs,
			slog.Int("status", o.resp.StatusCode),
			slog.Group("ratelimit",
				slog.Int("max", rl.Max),
				slog.Int("remaining", rl.Remaining),
				slog.Duration("interval", rl.Interval),
				slog.Int("daily_limit", rl.DailyLimit),
				slog.Int("daily_remaining", rl.DailyRemaining),
			))
	}
	if t.cfg.logBodies {
		attrs = append(attrs, slog.Any("request_headers", redacted(r.Header)))
		if r.GetBody != nil {
			if b, err := r.GetBody(); err == nil {
				data, _ := io.ReadAll(b)
				b.Close()
				attrs = append(attrs, slog.String("request_body", string(data)))
			}
		}
		if o.resp != nil {
			body, _ := o.resp.Body.(*bufferedBody)
			attrs = append(attrs, slog.Any("response_headers", redacted(o.resp.Header)))
			if body != nil {
				attrs = append(attrs, slog.String("response_body", string(body.data)))
			}
		}
	}
	l.LogAttrs(ctx, slog.LevelDebug, "leadway: attempt", attrs...)
}

// logRetry logs the decision to try again and how long the client waits.
func (t *transport) logRetry(ctx context.Context, r *http.Request, attempt int, wait time.Duration, reason string) {
	l := t.cfg.logger
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	l.LogAttrs(ctx, slog.LevelDebug, "leadway: retrying",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("attempt", attempt),
		slog.Duration("wait", wait),
		slog.String("reason", reason))
}

// redacted copies h with the credentials replaced.
func redacted(h http.Header) http.Header {
	c := h.Clone()
	for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization", "Set-Cookie"} {
		if c.Get(k) != "" {
			c.Set(k, "REDACTED")
		}
	}
	return c
}
