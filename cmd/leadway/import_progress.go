package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/leadwaycrm/leadway/internal/importer"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows where the import stands on stderr: a bar on a terminal, a
// line every interval otherwise.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	bar      *progressbar.ProgressBar
	total    int
	interval time.Duration
	last     time.Time
	latest   importer.Progress
}

func newProgress(w io.Writer, total int, interval time.Duration) *progress {
	p := &progress{w: w, total: total, interval: interval, last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	return p
}

func (p *progress) update(s importer.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest = s
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%d failed, %d unknown, %d×429, daily left %s", s.Failed, s.Unknown, s.RateLimited, left(s.DailyLeft)))
		_ = p.bar.Set(s.Finished())
		return
	}
	if time.Since(p.last) >= p.interval {
		p.last = time.Now()
		p.line(s)
	}
}

func (p *progress) line(s importer.Progress) {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Sent) / s.Elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-s.Finished())/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "leadway: import: %d/%d rows (%d%%), %.1f rows/s, ETA %s, %d failed, %d unknown, %d answered 429, daily budget left %s\n",
		s.Finished(), p.total, 100*s.Finished()/max(p.total, 1), rate, eta, s.Failed, s.Unknown, s.RateLimited, left(s.DailyLeft))
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

func left(n int) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}
