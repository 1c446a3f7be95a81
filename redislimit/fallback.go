package redislimit

import (
	"log/slog"
	"time"
)

// Fallback reports whether the limiter is on its in-process fallback
// because Redis could not be reached.
func (l *Limiter) Fallback() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

// useRedis reports whether this call should go to Redis: always when it is
// up; while it is down, one call every retryEvery tries it.
func (l *Limiter) useRedis() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.down {
		return true
	}
	if l.trying || time.Now().Before(l.retryAt) {
		return false
	}
	l.trying = true
	return true
}

func (l *Limiter) failed(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trying = false
	l.retryAt = time.Now().Add(l.cfg.retryEvery)
	if !l.down {
		l.down = true
		l.cfg.logger.Warn("redislimit: Redis unreachable; limiting on this process's share of the budget until it returns",
			slog.String("error", err.Error()), slog.Float64("share", l.cfg.share))
	}
}

func (l *Limiter) recovered() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trying = false
	if l.down {
		l.down = false
		l.cfg.logger.Info("redislimit: Redis is back; sharing the budget through it again")
	}
}
