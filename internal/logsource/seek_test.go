package logsource

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unixTimeOf reads lines that start with seconds since the epoch.
func unixTimeOf(l []byte) (time.Time, bool) {
	f, _, _ := bytes.Cut(l, []byte(" "))
	s, err := strconv.ParseInt(string(f), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(s, 0), true
}

// seekLog builds a log of n lines one second apart from t0, with extra lines
// mixed in.
func seekLog(n int, jitter int, extra func(i int) string) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := range n {
		ts := 1_700_000_000 + i
		if jitter > 0 {
			ts += r.IntN(2*jitter+1) - jitter
		}
		fmt.Fprintf(&b, "%d sshd[%d]: Failed password for root from 203.0.113.%d\n", ts, i, i%250)
		if extra != nil {
			b.WriteString(extra(i))
		}
	}
	return []byte(b.String())
}

// firstRecent finds the answer by reading every line.
func firstRecent(b []byte, target time.Time) int64 {
	off := 0
	for off < len(b) {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return int64(off)
		}
		if t, ok := unixTimeOf(b[off : off+i]); ok && !t.Before(target) {
			return int64(off)
		}
		off += i + 1
	}
	return int64(off)
}

func TestSeekTime(t *testing.T) {
	plain := seekLog(50_000, 0, nil)
	garbage := seekLog(20_000, 0, func(i int) string {
		if i%3 == 0 {
			return "    at some.continuation(line.java:42)\n\x00\xff\n"
		}
		return ""
	})
	longLine := seekLog(20_000, 0, func(i int) string {
		if i == 10_000 {
			return strings.Repeat("L", 3*seekWindow) + "\n"
		}
		return ""
	})
	partial := append(seekLog(10_000, 0, nil), "1700009999 unfinished"...)
	tests := []struct {
		name   string
		log    []byte
		target int64 // seconds
	}{
		{"before the first line", plain, 1_600_000_000},
		{"at the first line", plain, 1_700_000_000},
		{"middle", plain, 1_700_031_337},
		{"last line", plain, 1_700_049_999},
		{"after the last line", plain, 1_800_000_000},
		{"with garbage lines", garbage, 1_700_012_345},
		{"with a line longer than the window", longLine, 1_700_010_001},
		{"just before a long line", longLine, 1_700_010_000},
		{"unfinished last line", partial, 1_800_000_000},
		{"small file", seekLog(10, 0, nil), 1_700_000_005},
		{"empty file", nil, 1_700_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := time.Unix(tt.target, 0)
			got, err := seekTime(bytes.NewReader(tt.log), int64(len(tt.log)), target, unixTimeOf)
			if err != nil {
				t.Fatal(err)
			}
			if want := firstRecent(tt.log, target); got != want {
				t.Errorf("seekTime(%d) = %d, want %d", tt.target, got, want)
			}
		})
	}
}

// TestSeekTimeDisorder seeks in a log whose times go back and forth by up
// to a minute: the start found must be a line start with no line much
// older than the target after it (a window's worth aside), and no line
// much newer before it.
func TestSeekTimeDisorder(t *testing.T) {
	const jitter = 60
	log := seekLog(100_000, jitter, nil)
	for _, target := range []int64{1_700_000_100, 1_700_050_000, 1_700_099_000} {
		got, err := seekTime(bytes.NewReader(log), int64(len(log)), time.Unix(target, 0), unixTimeOf)
		if err != nil {
			t.Fatal(err)
		}
		if got > 0 && log[got-1] != '\n' {
			t.Fatalf("seekTime(%d) = %d, not a line start", target, got)
		}
		before, after := log[:got], log[got:]
		for l := range bytes.Lines(before[:max(0, len(before)-seekWindow)]) {
			if ts, _ := unixTimeOf(l); ts.Unix() >= target+2*jitter {
				t.Errorf("seekTime(%d) skips recent line %q", target, l)
				break
			}
		}
		for l := range bytes.Lines(after) {
			if ts, _ := unixTimeOf(l); ts.Unix() < target-2*jitter {
				t.Errorf("seekTime(%d) reads old line %q", target, l)
				break
			}
		}
	}
}

// BenchmarkSeekTime measures the first-start seek in a 100 MB log.
func BenchmarkSeekTime(b *testing.B) {
	log := seekLog(1_500_000, 0, nil)
	target := time.Unix(1_700_000_000+1_400_000, 0)
	b.SetBytes(int64(len(log)))
	for b.Loop() {
		if _, err := seekTime(bytes.NewReader(log), int64(len(log)), target, unixTimeOf); err != nil {
			b.Fatal(err)
		}
	}
}
