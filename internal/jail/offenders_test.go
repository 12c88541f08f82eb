package jail

import (
	"net/netip"
	"testing"
	"time"
)

func TestOffenders(t *testing.T) {
	o := NewOffenders()
	p := netip.MustParsePrefix("192.0.2.7/32")
	o.Add("sshd", p, 2, t0)
	o.Record("nginx", netip.MustParsePrefix("::ffff:192.0.2.7/128"), t0.Add(time.Hour))
	o.Record("sshd", netip.MustParsePrefix("2001:db8::1/64"), t0)
	o.Add("sshd", p, 0, t0.Add(5*time.Hour)) // ignored
	tests := []struct {
		jail     string
		prefix   string
		allJails bool
		n        int
		last     time.Time
	}{
		{"sshd", "192.0.2.7/32", false, 2, t0},
		{"sshd", "192.0.2.7/32", true, 3, t0.Add(time.Hour)},
		{"nginx", "192.0.2.7/32", false, 1, t0.Add(time.Hour)},
		{"sshd", "2001:db8::/64", false, 1, t0},
		{"sshd", "2001:db8::/128", false, 0, time.Time{}},
		{"other", "192.0.2.7/32", false, 0, time.Time{}},
	}
	for _, tt := range tests {
		n, last := o.History(tt.jail)(netip.MustParsePrefix(tt.prefix), tt.allJails)
		if n != tt.n || !last.Equal(tt.last) {
			t.Errorf("History(%s)(%s, %v) = %d, %v; want %d, %v", tt.jail, tt.prefix, tt.allJails, n, last, tt.n, tt.last)
		}
	}
	if got := o.Purge(t0.Add(time.Minute)); got != 1 || o.Len() != 1 {
		t.Errorf("Purge = %d, Len = %d; want 1, 1", got, o.Len())
	}
	if n, _ := o.Lookup("sshd", p, false); n != 0 {
		t.Errorf("sshd count after purge = %d, want 0", n)
	}
	if n, _ := o.Lookup("nginx", p, false); n != 1 {
		t.Errorf("nginx count after purge = %d, want 1", n)
	}
}

// TestOffendersDriveIncrement wires Offenders to a jail as the daemon will:
// every ban is recorded, and the next ban of the same address lasts twice
// as long and needs fewer failures.
func TestOffendersDriveIncrement(t *testing.T) {
	o := NewOffenders()
	j := mustJail(t, Config{Name: "sshd", MaxRetry: 5, FindTime: time.Hour, BanTime: 10 * time.Minute,
		Increment: &Increment{}, History: o.History("sshd")})
	addr := netip.MustParseAddr("203.0.113.50")
	at := t0
	var durations []time.Duration
	var failures []int
	for range 4 {
		for n := 1; ; n++ {
			at = at.Add(time.Second)
			if d, ok := j.Fail(addr, at); ok {
				o.Record("sshd", d.Prefix, d.Last)
				durations = append(durations, d.Duration)
				failures = append(failures, n)
				break
			}
		}
	}
	wantD := []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute}
	wantF := []int{5, 3, 2, 1} // one failure counts 1, 2, 3, 5 times
	for i := range wantD {
		if durations[i] != wantD[i] || failures[i] != wantF[i] {
			t.Errorf("ban %d: %v after %d failures, want %v after %d", i+1, durations[i], failures[i], wantD[i], wantF[i])
		}
	}
}
