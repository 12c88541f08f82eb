package date

import (
	"testing"
	"time"
)

func benchFind(b *testing.B, d *Detector, line string) {
	loc := testLoc(b)
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	l := []byte(line)
	var st State
	if _, ok := d.Find(l, &st, now, loc); !ok {
		b.Fatalf("Find(%q): no date", line)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.Find(l, &st, now, loc)
	}
}

func lnBeg(b *testing.B) *Detector {
	d, err := Compile("{^LN-BEG}")
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func BenchmarkFindRFC3339(b *testing.B) {
	benchFind(b, lnBeg(b), "2026-11-24T14:55:01.123456+00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")
}

func BenchmarkFindBSD(b *testing.B) {
	benchFind(b, lnBeg(b), "Nov 24 14:55:01 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")
}

func BenchmarkFindDefaultBSD(b *testing.B) {
	benchFind(b, Default(), "Nov 24 14:55:01 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")
}

// BenchmarkFindApacheCLF: an access log line under the web-log filters'
// datepattern ^[^\[]*\[({DATE}) (a hand-written matcher).
func BenchmarkFindApacheCLF(b *testing.B) {
	d, err := Compile("^[^\\[]*\\[({DATE})\n{^LN-BEG}")
	if err != nil {
		b.Fatal(err)
	}
	benchFind(b, d, `192.0.2.1 - - [24/Nov/2026:14:55:01 +0100] "GET / HTTP/1.1" 401 381`)
}

// BenchmarkFindRFC5424 takes the regexp2 path: ^<\d+>\d+\s+{DATE}.
func BenchmarkFindRFC5424(b *testing.B) {
	d, err := Compile(`^<\d+>\d+\s+{DATE}`)
	if err != nil {
		b.Fatal(err)
	}
	benchFind(b, d, "<38>1 2026-11-24T14:55:01.954167-04:00 host sshd 57915 - - Failed password for root from 192.0.2.1")
}

func BenchmarkFindNoDate(b *testing.B) {
	d := lnBeg(b)
	loc := testLoc(b)
	l := []byte("    at org.example.Foo.bar(Foo.java:42) continuation line without a date")
	var st State
	b.ReportAllocs()
	for b.Loop() {
		d.Find(l, &st, testNow, loc)
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Default()
	}
}

// BenchmarkFindSshdLog runs Fail2ban's sshd sample log (from the oracle data)
// through {^LN-BEG}, the date pattern of Fail2ban's sshd filter.
func BenchmarkFindSshdLog(b *testing.B) {
	var lines [][]byte
	for _, g := range loadOracleTB(b) {
		if g.Name == "log/sshd/lnbeg" {
			for _, l := range g.Lines {
				lines = append(lines, []byte(l.Line))
			}
		}
	}
	if len(lines) == 0 {
		b.Fatal("no sshd sample lines")
	}
	d := lnBeg(b)
	loc := testLoc(b)
	var st State
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Find(lines[i%len(lines)], &st, testNow, loc)
	}
}
