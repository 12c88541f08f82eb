package jail

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"600", 600 * time.Second},
		{"0", 0},
		{"10m", 10 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1d", 24 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"1mo", 2629800 * time.Second},
		{"1y", 31557600 * time.Second},
		{"-1", Permanent},
		{" -1 ", Permanent},
		{"1d12h30m", 36*time.Hour + 30*time.Minute},
		{"1d 12h", 36 * time.Hour},
		{"1h 30", time.Hour + 30*time.Second},
		{"1.5h", 90 * time.Minute},
		{"2 weeks", 14 * 24 * time.Hour},
		{"3 Hours", 3 * time.Hour},
		{"5min", 5 * time.Minute},
		{"45s", 45 * time.Second},
		{"45sec", 45 * time.Second},
		{"1M", time.Minute},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", "empty"},
		{"  ", "empty"},
		{"-5", "only -1"},
		{"-1h", "only -1"},
		{"10x", `unknown unit "x"`},
		{"10ms", `unknown unit "ms"`},
		{"h", "expected a number"},
		{"1..5h", "bad number"},
		{"10m-5", "expected a number"},
		{"999999999999y", "too long"},
		{"300y", "too long"},
		{"99999999999999999999", "too long"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseDuration(%q) = %v, %v, want error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"600", "10m", "1h30m", "1d", "1w", "1mo", "1y", "-1", "1.5h", "1d 12h", "2 weeks", "9223372036s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 && d != Permanent {
			t.Fatalf("ParseDuration(%q) = %v: negative", s, d)
		}
	})
}
