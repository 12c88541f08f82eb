package accesslog

import (
	"math"
	"strconv"
	"time"
)

type timeKind uint8

const (
	timeNone timeKind = iota
	timeCLF
	timeRFC3339
	timeEpoch
)

// clfLayout is the [time] of combined logs and nginx's $time_local.
const clfLayout = "02/Jan/2006:15:04:05 -0700"

// When parses the request's time. It is separate from Parse because most
// lines are rejected before their time matters.
func (r *Request) When() (time.Time, bool) {
	s := bstr(r.Time)
	switch r.timeKind {
	case timeCLF:
		t, err := time.Parse(clfLayout, s)
		return t, err == nil
	case timeRFC3339:
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, err == nil
	case timeEpoch:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1e11 || math.IsNaN(f) {
			return time.Time{}, false
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	return time.Time{}, false
}
