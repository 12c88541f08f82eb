package date

import (
	"strings"
	"time"
)

// fields holds the parts of a date read from a line, before they are turned
// into an instant. Only the parts flagged in set were present.
type fields struct {
	year, month, day     int
	hour, minute, second int
	nsec                 int
	yday                 int // %j, 1..366
	week                 int // %U or %W
	weekday              int // 0 = Monday
	zone                 int // seconds east of UTC
	unix                 int64
	set                  uint16
}

const (
	hasYear uint16 = 1 << iota
	hasMonth
	hasDay
	hasZone
	hasYday
	hasWeekU // week of year, weeks start on Sunday
	hasWeekW // week of year, weeks start on Monday
	hasWeekday
	hasUnix // unix and nsec hold the instant (epoch, TAI64N)
)

// clock caches the location-dependent work of turning wall-clock times into
// instants, so a stream of lines in the same zone period costs a few integer
// operations per line. It lives in State, one per stream.
type clock struct {
	loc *time.Location
	// zone period: wall-clock = unix + off for lo <= unix < hi.
	off, lo, hi int64
	// year of "now" in loc, valid for now in [ylo, yhi).
	year     int
	ylo, yhi int64
	yloc     *time.Location
	// last month start seen: days since 1970 of year-month-01.
	dYear, dMonth int
	dDays         int64
}

// monthStart returns daysFromCivil(y, m, 1), cached for runs of lines from
// the same month.
func (c *clock) monthStart(y, m int) int64 {
	if y != c.dYear || m != c.dMonth {
		c.dYear, c.dMonth, c.dDays = y, m, daysFromCivil(y, m, 1)
	}
	return c.dDays
}

// wallToUnix converts seconds since 1970-01-01 00:00 wall-clock time in loc to
// Unix seconds.
func (c *clock) wallToUnix(wall int64, loc *time.Location) int64 {
	if c.loc == loc {
		u := wall - c.off
		if u >= c.lo && u < c.hi {
			return u
		}
	}
	y, mo, d, h, mi, s := civilFromWall(wall)
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, loc)
	u := t.Unix()
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	c.loc, c.off = loc, int64(off)
	c.lo, c.hi = minUnix, maxUnix
	if !start.IsZero() {
		c.lo = start.Unix()
	}
	if !end.IsZero() {
		c.hi = end.Unix()
	}
	// An ambiguous or skipped wall-clock time is left to time.Date alone.
	if u+c.off != wall || u < c.lo || u >= c.hi {
		c.loc = nil
	}
	return u
}

const (
	minUnix = -1 << 62
	maxUnix = 1<<62 - 1
)

// nowYear returns the calendar year of now in loc.
func (c *clock) nowYear(now time.Time, loc *time.Location) int {
	u := now.Unix()
	if c.yloc == loc && u >= c.ylo && u < c.yhi {
		return c.year
	}
	y := now.In(loc).Year()
	c.yloc, c.year = loc, y
	c.ylo = time.Date(y, 1, 1, 0, 0, 0, 0, loc).Unix()
	c.yhi = time.Date(y+1, 1, 1, 0, 0, 0, 0, loc).Unix()
	return y
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// civilFromWall splits wall-clock seconds since 1970 into calendar parts.
func civilFromWall(wall int64) (y, mo, d, h, mi, s int) {
	days := wall / 86400
	rem := wall % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	h, mi, s = int(rem/3600), int(rem/60%60), int(rem%60)
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	mo = int(mp + 3)
	if mo > 12 {
		mo -= 12
	}
	if mo <= 2 {
		yy++
	}
	return int(yy), mo, d, h, mi, s
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// resolve turns fields into an instant the way Fail2ban does: a missing year
// is now's year, or the year before if that puts the date more than a day in
// the future; a missing date is today, or yesterday if that is in the future;
// without a zone in the line the time is wall-clock time in loc.
func (f *fields) resolve(now time.Time, loc *time.Location, c *clock, r *result) bool {
	r.nsec = f.nsec
	if f.set&hasUnix != 0 {
		r.unix = f.unix
		return true
	}
	if f.hour > 23 || f.minute > 59 || f.second > 59 {
		return false
	}
	year, month, day := f.year, f.month, f.day
	assumeYear := f.set&hasYear == 0
	if assumeYear {
		year = c.nowYear(now, loc)
	}
	haveMonth, haveDay := f.set&hasMonth != 0, f.set&hasDay != 0
	if !haveMonth || !haveDay {
		yday, ok := f.julian(year)
		if ok {
			year, month, day, _, _, _ = civilFromWall((daysFromCivil(year, 1, 1) + int64(yday) - 1) * 86400)
			haveMonth, haveDay = true, true
		}
	}
	assumeToday := false
	switch {
	case !haveMonth && !haveDay:
		ny, nm, nd := now.In(loc).Date()
		if !assumeYear {
			ny = year
		}
		year, month, day = ny, int(nm), nd
		assumeToday = true
	case !haveMonth || !haveDay:
		return false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || year < 1 || year > 9999 {
		return false
	}
	u := f.instant(year, month, day, loc, c)
	if assumeToday && u > now.Unix() {
		u = f.instant(year, month, day-1, loc, c)
	}
	if assumeYear && u > now.Unix()+86400 {
		year--
		if day > daysIn(year, month) {
			return false
		}
		u = f.instant(year, month, day, loc, c)
	}
	r.unix = u
	return true
}

// instant returns the Unix seconds of the date (day may be 0: the day before
// the 1st) at f's time of day, in f's zone or else in loc.
func (f *fields) instant(year, month, day int, loc *time.Location, c *clock) int64 {
	wall := (c.monthStart(year, month)+int64(day-1))*86400 +
		int64(f.hour*3600+f.minute*60+f.second)
	if f.set&hasZone != 0 {
		return wall - int64(f.zone)
	}
	return c.wallToUnix(wall, loc)
}

// julian returns the day of the year given by %j, or by %U/%W with a weekday.
func (f *fields) julian(year int) (int, bool) {
	if f.set&hasYday != 0 {
		return f.yday, true
	}
	if f.set&(hasWeekU|hasWeekW) == 0 || f.set&hasWeekday == 0 {
		return 0, false
	}
	// weekday of January 1st, 0 = Monday (1970-01-01 was a Thursday).
	first := int((daysFromCivil(year, 1, 1)%7 + 7 + 3) % 7)
	wd := f.weekday
	if f.set&hasWeekU != 0 { // weeks start on Sunday: renumber with Sunday = 0
		first = (first + 1) % 7
		wd = (wd + 1) % 7
	}
	if f.week == 0 {
		return 1 + wd - first, true
	}
	week0 := (7 - first) % 7
	return 1 + week0 + 7*(f.week-1) + wd, true
}

// fill stores the text of one %-code group. p is the lower-cased %p text.
func (f *fields) fill(name, val, p string) bool {
	switch name {
	case "b", "B", "a", "A":
		i := nameIndex(name, val)
		if i < 0 {
			return false
		}
		switch name {
		case "b", "B":
			f.month, f.set = i+1, f.set|hasMonth
		default:
			f.weekday, f.set = i, f.set|hasWeekday
		}
		return true
	case "p":
		return true
	case "z", "Z":
		off, ok := parseZone(val)
		f.zone, f.set = off, f.set|hasZone
		return ok
	case "f":
		n, digits := 0, 0
		for i := 0; i < len(val); i++ {
			if !isDigit(val[i]) {
				return false
			}
			if digits < 9 {
				n = n*10 + int(val[i]-'0')
				digits++
			}
		}
		for ; digits < 9; digits++ {
			n *= 10
		}
		f.nsec = n
		return true
	case "s":
		n, ok := atoi(val)
		f.unix, f.set = int64(n), f.set|hasUnix
		return ok
	}
	n, ok := atoi(val)
	if !ok {
		return false
	}
	switch name {
	case "Y":
		f.year, f.set = n, f.set|hasYear
	case "y":
		// Fail2ban puts two-digit years in this century: 00..99 -> 2000..2099.
		f.year, f.set = n+2000, f.set|hasYear
	case "m":
		f.month, f.set = n, f.set|hasMonth
	case "d":
		f.day, f.set = n, f.set|hasDay
	case "H":
		f.hour = n
	case "I":
		// without %p the hour is AM
		switch {
		case p == "pm" && n != 12:
			n += 12
		case p != "pm" && n == 12:
			n = 0
		}
		f.hour = n
	case "M":
		f.minute = n
	case "S":
		f.second = n
	case "w":
		f.weekday, f.set = (n+6)%7, f.set|hasWeekday
	case "j":
		f.yday, f.set = n, f.set|hasYday
	case "U":
		f.week, f.set = n, f.set|hasWeekU
	case "W":
		f.week, f.set = n, f.set|hasWeekW
	}
	return true
}

// atoi reads a decimal number of up to 12 digits; leading blanks are allowed
// (a space-padded day " 4"), any other non-digit is not.
func atoi(s string) (int, bool) {
	s = strings.TrimLeft(s, " ")
	if s == "" || len(s) > 12 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// nameIndex returns the index of a month (b, B: 0 = January) or weekday (a, A:
// 0 = Monday) name, compared case-insensitively.
func nameIndex(code, val string) int {
	var list []string
	switch code {
	case "b", "B":
		list = []string{"january", "february", "march", "april", "may", "june", "july",
			"august", "september", "october", "november", "december"}
	default:
		list = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	}
	for i, full := range list {
		name := full
		if code == "b" || code == "a" {
			name = full[:3]
		}
		if strings.EqualFold(name, val) {
			return i
		}
	}
	return -1
}

// fillEpoch reads seconds since 1970 with an optional fraction; long also
// accepts milliseconds (13 digits) and microseconds (16 digits).
func (f *fields) fillEpoch(v string, long bool) bool {
	intPart, frac, _ := strings.Cut(v, ".")
	if intPart == "" || len(intPart) > 17 {
		return false
	}
	var n int64
	for i := 0; i < len(intPart); i++ {
		if !isDigit(intPart[i]) {
			return false
		}
		n = n*10 + int64(intPart[i]-'0')
	}
	// scale: the value's unit as a power of ten of nanoseconds.
	unit := int64(1e9)
	if long && len(intPart) >= 13 {
		unit = 1e6
		if len(intPart) >= 16 && !strings.Contains(v, ".") {
			unit = 1e3
		}
	}
	var fracNs int64
	scale := unit / 10
	for i := 0; i < len(frac) && scale > 0; i++ {
		if !isDigit(frac[i]) {
			return false
		}
		fracNs += int64(frac[i]-'0') * scale
		scale /= 10
	}
	perSec := int64(1e9) / unit
	f.unix = n / perSec
	f.nsec = int((n%perSec)*unit + fracNs)
	f.set |= hasUnix
	return true
}

// fillTAI64N reads a TAI64N label "@" + 24 hex digits. Like Fail2ban it takes
// the label as Unix seconds (2^62 + s) without the TAI-UTC leap seconds.
func (f *fields) fillTAI64N(v string) bool {
	if len(v) != 25 || v[0] != '@' {
		return false
	}
	var sec, ns int64
	for i := 1; i < 25; i++ {
		d := unhex(v[i])
		if d < 0 {
			return false
		}
		if i >= 2 && i < 17 {
			sec = sec<<4 | int64(d)
		} else if i >= 17 {
			ns = ns<<4 | int64(d)
		}
	}
	if ns >= 1e9 {
		ns = 0
	}
	f.unix, f.nsec, f.set = sec, int(ns), f.set|hasUnix
	return true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
