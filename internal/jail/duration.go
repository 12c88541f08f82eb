package jail

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Permanent is the ban duration that never expires. ParseDuration returns it
// for Fail2ban's "-1".
const Permanent time.Duration = -1

// Lengths of the calendar units, as Fail2ban counts them: a year is 365.25
// days and a month a twelfth of that.
const (
	day   = 24 * time.Hour
	week  = 7 * day
	year  = day*365 + day/4
	month = year / 12
)

// unit returns the length of a unit in any spelling Fail2ban's str2seconds
// understands (lower case). "m" is a minute; a month is "mo".
func unit(name string) (time.Duration, bool) {
	switch name {
	case "s", "ss", "se", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "mm", "mi", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hh", "ho", "hour", "hours":
		return time.Hour, true
	case "d", "dd", "da", "day", "days":
		return day, true
	case "w", "ww", "we", "wee", "week", "weeks":
		return week, true
	case "mo", "mon", "month", "months":
		return month, true
	case "y", "yy", "ye", "yea", "year", "years":
		return year, true
	}
	return 0, false
}

// ParseDuration parses a duration written the way Fail2ban users write
// bantime and findtime: a bare number of seconds ("600"), or numbers with
// units, optionally separated by spaces ("10m", "1h30m", "1d 12h", "1.5h",
// "2 weeks"). Units are s, m, h, d, w, mo and y with Fail2ban's longer
// spellings (min, hour, days, month, ...); a month is 365.25/12 days and a
// year 365.25 days, as in Fail2ban. A number without a unit counts seconds,
// also after other groups ("1h 30" is 3630 s). "-1" returns Permanent; any
// other negative value is an error.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("duration %q: empty", s)
	}
	if in[0] == '-' {
		if n, err := strconv.ParseInt(in, 10, 64); err == nil && n == -1 {
			return Permanent, nil
		}
		return 0, fmt.Errorf("duration %q: negative; only -1 (permanent) is allowed", s)
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
			return 0, fmt.Errorf("duration %q: expected a number at %q", s, rest)
		}
		numText := rest[:i]
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		length := time.Second
		if j > 0 {
			u, ok := unit(strings.ToLower(rest[:j]))
			if !ok {
				return 0, fmt.Errorf("duration %q: unknown unit %q (use s, m, h, d, w, mo or y)", s, rest[:j])
			}
			length = u
			rest = rest[j:]
		}
		part, err := scale(numText, length)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		if total > math.MaxInt64-part {
			return 0, fmt.Errorf("duration %q: too long", s)
		}
		total += part
	}
	return total, nil
}

// scale multiplies a decimal number by a unit, exactly for integers and
// rounded to the nanosecond for fractions, refusing overflow.
func scale(num string, unit time.Duration) (time.Duration, error) {
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) {
			return 0, fmt.Errorf("%s: too long", num)
		}
		return time.Duration(n) * unit, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", num)
	}
	v := math.Round(f * float64(unit))
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%s: too long", num)
	}
	return time.Duration(v), nil
}
