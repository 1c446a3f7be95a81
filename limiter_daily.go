package leadway

import "time"

// maxDailyStop bounds how long a spent daily budget stops a location, so
// that a huge or hostile Retry-After cannot stop it for good: the budget
// comes back within a day.
const maxDailyStop = 24 * time.Hour

// observeDaily starts the daily stop on an answer that says the day's
// budget is spent, and ends it on the answer to the probe.
func (loc *location) observeDaily(rl RateLimit, now time.Time) {
	switch {
	case rl.DailyExhausted():
		d := rl.RetryAfter
		if d < 0 {
			d = untilMidnightUTC(now)
		}
		d = min(d, maxDailyStop)
		loc.stopped, loc.stopUntil, loc.probeUntil = true, now.Add(d), time.Time{}
	case loc.stopped && !loc.probeUntil.IsZero():
		// The answer to the probe (or to a call after it): the budget is back.
		loc.stopped, loc.stopUntil, loc.probeUntil = false, time.Time{}, time.Time{}
	}
}

// daily returns the refusal of a stopped location, or nil when a call may
// go (as the probe, when the stop has run out).
func (loc *location) daily(now time.Time) error {
	if !loc.stopped {
		return nil
	}
	if now.Before(loc.stopUntil) {
		return &RateLimitError{Daily: true, RetryAfter: loc.stopUntil.Sub(now)}
	}
	if now.Before(loc.probeUntil) {
		return &RateLimitError{Daily: true, RetryAfter: loc.probeUntil.Sub(now)}
	}
	return nil
}

// takeProbe records that the call just booked is the probe of a stopped
// location, and reports whether it is.
func (loc *location) takeProbe(now time.Time) bool {
	if loc.stopped {
		loc.probeUntil = now.Add(DailyProbeLease)
		return true
	}
	return false
}
