package date

import (
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	d := Default()
	for i, tt := range d.templates {
		t.Logf("%d %q flags=%d w=%v fast=%v", i, tt.name, tt.flags, tt.weight, tt.fast != nil)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	now := time.Unix(1124013600, 0)
	var st State
	for _, l := range []string{"Jan 23 21:59:59 [sshd] error", "2005-01-23T21:59:59.981746+01:00 host", "foo 2005-01-23 21:59:59 x", "@4000000041f4104f00000000 x", "1106513999.000 x", "[1106513999.000] x"} {
		m, ok := d.Find([]byte(l), &st, now, loc)
		t.Logf("%q -> %v %v %q %d", l, ok, m.Time.Unix(), l[m.Start:m.End], m.Template)
	}
}
