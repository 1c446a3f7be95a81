package leadway

import (
	"maps"
	"time"
)

// location returns key's budget, created from the limiter's figures (or
// the latest announced ones) on first use.
func (l *slidingLimiter) location(key string, now time.Time) *location {
	loc := l.locs[key]
	if loc == nil {
		loc = &location{max: l.max, interval: l.interval, epoch: now}
		if l.announcedMax > 0 {
			loc.max, loc.interval = l.announcedMax, l.announcedInterval
		}
		if !l.adaptive {
			loc.ceilMax, loc.ceilInterval = l.max, l.interval
		}
		loc.keepMax, loc.keepInterval = max(loc.max, loc.ceilMax), max(loc.interval, loc.ceilInterval)
		l.locs[key] = loc
	}
	loc.touched = now
	return loc
}

// idle reports whether forgetting the location loses nothing: no waiter, no
// send within a window, no daily stop.
func (loc *location) idle(now time.Time) bool {
	horizon := now.Add(-span(loc.keepInterval))
	if loc.waiters > 0 || loc.stopped || loc.touched.After(horizon) {
		return false
	}
	n := len(loc.log)
	return n == 0 || loc.log[n-1].at <= loc.rel(horizon)
}

// sweep forgets idle locations, at most once per sweepEvery.
func (l *slidingLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	evicted := 0
	for key, loc := range l.locs {
		if loc.idle(now) {
			delete(l.locs, key)
			evicted++
		} else {
			loc.trim(loc.rel(now))
		}
	}
	// A map never gives back its buckets: copy it once most of it is gone.
	if evicted > len(l.locs) {
		locs := make(map[string]*location, len(l.locs))
		maps.Copy(locs, l.locs)
		l.locs = locs
	}
}
