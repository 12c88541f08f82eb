package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Permanent is the ban time that never expires, written -1 (as in Fail2ban)
// or "permanent".
const Permanent time.Duration = -1

// Calendar units as Fail2ban counts them: a year is 365.25 days and a month
// a twelfth of that.
const (
	day   = 24 * time.Hour
	week  = 7 * day
	year  = day*365 + day/4
	month = year / 12
)

// durationHint is appended to every duration error.
const durationHint = "use e.g. 600, 10m, 1h30m, 1d"

// durationUnit returns the length of a unit in the spellings Fail2ban
// accepts; "m" is a minute and "mo" a month.
func durationUnit(name string) (time.Duration, bool) {
	switch name {
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hour", "hours":
		return time.Hour, true
	case "d", "day", "days":
		return day, true
	case "w", "week", "weeks":
		return week, true
	case "mo", "mon", "month", "months":
		return month, true
	case "y", "year", "years":
		return year, true
	}
	return 0, false
}

// ParseDuration parses a duration the way Fail2ban users write bantime and
// findtime: a number of seconds ("600"), or numbers with units, optionally
// separated by spaces ("10m", "1h30m", "1d 12h", "1.5h", "2 weeks"). "-1"
// and "permanent" return Permanent; other negative values are refused.
//
// It mirrors jail.ParseDuration so that config does not depend on the jail
// package's progress; the two agree on every unit.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	switch {
	case in == "":
		return 0, fmt.Errorf("empty duration")
	case in == "-1" || strings.EqualFold(in, "permanent"):
		return Permanent, nil
	case in[0] == '-':
		return 0, fmt.Errorf("%q is negative; only -1 (permanent) is allowed", s)
	}
	var total time.Duration
	rest := in
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		num := rest[:i]
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit := time.Second
		if j > 0 {
			u, ok := durationUnit(strings.ToLower(rest[:j]))
			if !ok {
				return 0, fmt.Errorf("%q is not a duration (unknown unit %q)", s, rest[:j])
			}
			unit, rest = u, rest[j:]
		}
		part, err := scaleDuration(num, unit)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (%v)", s, err)
		}
		if total > math.MaxInt64-part {
			return 0, fmt.Errorf("%q is too long", s)
		}
		total += part
	}
	return total, nil
}

// scaleDuration multiplies a decimal number by unit, refusing overflow.
func scaleDuration(num string, unit time.Duration) (time.Duration, error) {
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) {
			return 0, fmt.Errorf("%s is too large", num)
		}
		return time.Duration(n) * unit, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", num)
	}
	v := math.Round(f * float64(unit))
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%s is too large", num)
	}
	return time.Duration(v), nil
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
