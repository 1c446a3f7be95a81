package importer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"
)

// Budget is a location's rate budget, for planning.
type Budget struct {
	Max      int           // requests per window
	Interval time.Duration // the window
	Daily    int           // requests per day
}

// Duration estimates how long calls take for one location under b: a
// window for each budget's worth after the first, which goes out at once,
// plus a day for each daily cap filled.
func (b Budget) Duration(calls int) (time.Duration, int) {
	if calls <= 0 {
		return 0, 0
	}
	days := (calls - 1) / b.Daily
	rest := calls - days*b.Daily
	// The limiter sends a window's budget at once, so the last of rest
	// calls leaves when the window of its batch opens.
	windows := (rest - 1) / b.Max
	return time.Duration(days)*24*time.Hour + time.Duration(windows)*b.Interval, days + 1
}

// WritePlan prints what an import would do: rows and calls per location,
// and the time each takes under the burst budget and the daily cap.
// Locations run side by side, so the longest one sets the total.
func WritePlan(w io.Writer, cfg *Config, scan *Scan, b Budget, done map[string]int) {
	fmt.Fprintf(w, "Plan for %s (sha256 %.12s…): %d rows, %d locations, %d updates by id, %d creates\n",
		cfg.Input, scan.SHA256, scan.Rows, len(scan.Locations), scan.WithID, scan.Rows-scan.WithID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "location\trows\tdone\tcalls\ttime\tdays\t")
	locs := make([]string, 0, len(scan.Locations))
	for l := range scan.Locations {
		locs = append(locs, l)
	}
	slices.Sort(locs)
	var longest time.Duration
	calls := 0
	for _, l := range locs {
		n := scan.Locations[l]
		c := n - done[l]
		d, days := b.Duration(c)
		longest = max(longest, d)
		calls += c
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t\n", l, n, done[l], c, d.Round(time.Second), days)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d calls at %d per %s and %d per day per location: about %s, locations side by side.\n",
		calls, b.Max, b.Interval, b.Daily, longest.Round(time.Second))
	fmt.Fprintf(w, "Journal: %s\n", cfg.journalPath())
}

// Done counts, per location, the rows an earlier run of this input already
// imported, from its journal. A journal of another version of the input is
// a *ChangedInputError, as it is for the run itself.
func Done(cfg *Config, scan *Scan) (map[string]int, error) {
	if _, err := os.Stat(cfg.journalPath()); cfg.Restart || errors.Is(err, os.ErrNotExist) {
		return map[string]int{}, nil
	}
	states, err := newRowTable(filepath.Dir(cfg.journalPath()), scan.Rows)
	if err != nil {
		return nil, err
	}
	defer states.close()
	h, _, err := loadJournal(cfg.journalPath(), states, scan.SHA256)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return map[string]int{}, nil
	}
	if h.SHA256 != scan.SHA256 || h.Rows != scan.Rows {
		// The plan says what the run would do, and the run would refuse.
		return nil, &ChangedInputError{Journal: cfg.journalPath(), Input: cfg.Input, Was: h.SHA256, Now: scan.SHA256}
	}
	done := map[string]int{}
	err = openRows(cfg.Input, cfg.Spec, nil, func(rd *Reader) error {
		for row, err := range Rows(rd) {
			if err != nil {
				return err
			}
			if states.state(row.Num) == stateDone {
				done[row.Req.LocationId]++
			}
		}
		return nil
	})
	return done, err
}
