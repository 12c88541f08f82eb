package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/jail"
)

// Permanent is the ban time that never expires, written -1 (as in Fail2ban)
// or "permanent"; it is jail.Permanent.
const Permanent = jail.Permanent

// Whole units FormatDuration writes.
const (
	day  = 24 * time.Hour
	week = 7 * day
)

// durationHint is appended to every duration error.
const durationHint = "use e.g. 600, 10m, 1h30m, 1d"

// ParseDuration parses a duration the way Fail2ban users write bantime and
// findtime: a number of seconds ("600"), or numbers with units, optionally
// separated by spaces ("10m", "1h30m", "1d 12h", "1.5h", "2 weeks"), with
// Fail2ban's units (s, m, h, d, w, mo, y and their longer spellings). "-1"
// and "permanent" return Permanent; other negative values are refused. It
// is jail.ParseDuration plus the word "permanent".
func ParseDuration(s string) (time.Duration, error) {
	if strings.EqualFold(strings.TrimSpace(s), "permanent") {
		return Permanent, nil
	}
	return jail.ParseDuration(s)
}

// FormatDuration writes d the way ParseDuration reads it, with the largest
// whole units first: "10m", "1h30m", "1d", "1w2d", "permanent".
func FormatDuration(d time.Duration) string {
	switch {
	case d == Permanent:
		return "permanent"
	case d < 0:
		return strconv.FormatInt(int64(d/time.Second), 10)
	case d == 0:
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		len  time.Duration
	}{{"w", week}, {"d", day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.len; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.len
		}
	}
	if d > 0 || b.Len() == 0 {
		// Sub-second remainders are rare in a config; keep them exact.
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		b.WriteString("s")
	}
	return b.String()
}
