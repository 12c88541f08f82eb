package auditlog

import (
	"os"
	"strings"
	"testing"
	"time"
)

var timeZero time.Time

// FuzzParse: any line is a record or an error; a record's fields hold no
// more than the line did; the assembler and Describe take whatever Parse
// gives without panicking.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/enriched.log"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			f.Add(l)
		}
	}
	f.Add(`type=PATH msg=audit(1700000000.5:100): item=2 name=2F6574632F6D7920706173737764 nametype=DELETE`)
	f.Add(`type=SYSCALL msg=audit(1.5:1): key=6964656E7469747901637573746F6D comm=(null) a="b c" d='e'`)
	a := NewAssembler()
	f.Fuzz(func(t *testing.T, line string) {
		r, err := Parse([]byte(line))
		if err != nil {
			return
		}
		if r.Type == "" || len(r.Fields) > maxFields {
			t.Fatalf("bad record from %q: %+v", line, r)
		}
		for _, ev := range a.Add(r) {
			Describe(ev)
		}
		if a.Pending() > a.MaxPending {
			t.Fatalf("%d pending", a.Pending())
		}
	})
}
