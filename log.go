package leadway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// attemptLog logs the attempts of calls, through the redactor.
type attemptLog struct {
	logger *slog.Logger // nil: no log
	bodies bool         // headers and bodies too (WithBodyLogging)
	redact *redactor
}

// attempt logs one attempt at debug level. With bodies it adds headers and
// bodies, request and response alike, through the redactor.
func (t attemptLog) attempt(ctx context.Context, r *http.Request, cs *callState, a attempt, o outcome, took time.Duration) {
	l := t.logger
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	red := t.redact.forHeader(r.Header.Get("Authorization"))
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", red.String(r.URL.Path)),
		slog.Int("attempt", a.n),
		slog.Duration("took", took),
	}
	if o.err != nil {
		attrs = append(attrs, slog.String("error", red.String(o.err.Error())), slog.Bool("may_have_been_sent", o.sent))
	} else {
		rl := o.rl
		figures := []any{
			slog.Int("max", rl.Max),
			slog.Int("remaining", rl.Remaining),
			slog.Duration("interval", rl.Interval),
			slog.Int("daily_limit", rl.DailyLimit),
			slog.Int("daily_remaining", rl.DailyRemaining),
		}
		if rl.RetryAfter >= 0 { // -1: the answer asked for no wait
			figures = append(figures, slog.Duration("retry_after", rl.RetryAfter))
		}
		attrs = append(attrs,
			slog.Int("status", o.resp.StatusCode),
			slog.Group("ratelimit", figures...))
		if o.bodyErr != nil {
			attrs = append(attrs, slog.String("body_error", red.String(o.bodyErr.Error())))
		}
	}
	if t.bodies {
		attrs = append(attrs, slog.Any("request_headers", red.Header(r.Header)))
		// The transport's own copy: the request it sent has no GetBody
		// when only the client may replay it.
		if cs.getBody != nil {
			if b, err := cs.getBody(); err == nil {
				data, _ := io.ReadAll(b)
				b.Close()
				attrs = append(attrs, slog.String("request_body", red.String(string(data))))
			}
		}
		if o.resp != nil {
			attrs = append(attrs, slog.Any("response_headers", red.Header(o.resp.Header)))
			if body := bodyOf(o.resp); body != nil {
				attrs = append(attrs, slog.String("response_body", red.String(string(body.data))))
			}
		}
	}
	l.LogAttrs(ctx, slog.LevelDebug, "leadway: attempt", attrs...)
}

// retry logs the decision to try again and how long the client waits.
func (t attemptLog) retry(ctx context.Context, r *http.Request, a attempt, wait time.Duration, reason string) {
	l := t.logger
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	l.LogAttrs(ctx, slog.LevelDebug, "leadway: retrying",
		slog.String("method", r.Method),
		slog.String("path", t.redact.String(r.URL.Path)),
		slog.Int("attempt", a.n),
		slog.Duration("wait", wait),
		slog.String("reason", reason))
}
