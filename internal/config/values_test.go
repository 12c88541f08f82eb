package config

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"600", 600 * time.Second, false},
		{"10m", 10 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"1d 12h", 36 * time.Hour, false},
		{"1.5h", 90 * time.Minute, false},
		{"2 weeks", 14 * day, false},
		{"1y", 365*day + day/4, false},
		{"1mo", (365*day + day/4) / 12, false},
		{"-1", Permanent, false},
		{"permanent", Permanent, false},
		{"1h 30", time.Hour + 30*time.Second, false},
		{"10x", 0, true},
		{"", 0, true},
		{"-5", 0, true},
		{"m", 0, true},
		{"99999999999999999999", 0, true},
		{"9999999999y", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, d := range []time.Duration{Permanent, 0, time.Second, 10 * time.Minute, 90 * time.Minute, day, 9 * day, 1500 * time.Millisecond} {
		s := FormatDuration(d)
		back, err := ParseDuration(s)
		if err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v) = %q) = %v, %v", d, s, back, err)
		}
	}
	if got := FormatDuration(90 * time.Minute); got != "1h30m" {
		t.Errorf("FormatDuration(90m) = %q, want 1h30m", got)
	}
}

func TestParseFilterSpec(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		opts    map[string]string
		wantErr bool
	}{
		{"sshd", "sshd", nil, false},
		{"sshd[mode=aggressive]", "sshd", map[string]string{"mode": "aggressive"}, false},
		{`apache-auth[logtype="a, b", port='80']`, "apache-auth", map[string]string{"logtype": "a, b", "port": "80"}, false},
		{"x[]", "x", map[string]string{}, false},
		{"sshd[mode]", "", nil, true},
		{"sshd[mode=a", "", nil, true},
		{"bad name", "", nil, true},
		{`x[a="b]`, "", nil, true},
		{`x[a=1, a=2]`, "", nil, true},
	}
	for _, tt := range tests {
		name, opts, err := ParseFilterSpec(tt.in)
		if name != tt.name || !cmp.Equal(opts, tt.opts) || (err != nil) != tt.wantErr {
			t.Errorf("ParseFilterSpec(%q) = %q, %v, %v; want %q, %v, error %v", tt.in, name, opts, err, tt.name, tt.opts, tt.wantErr)
		}
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      any
		all     bool
		want    []PortRange
		wantErr bool
	}{
		{int64(22), false, []PortRange{{22, 22}}, false},
		{"ssh", false, []PortRange{{22, 22}}, false},
		{"http,https", false, []PortRange{{80, 80}, {443, 443}}, false},
		{"1000:2000", false, []PortRange{{1000, 2000}}, false},
		{"1000-2000", false, []PortRange{{1000, 2000}}, false},
		{[]any{"ssh", int64(2222)}, false, []PortRange{{22, 22}, {2222, 2222}}, false},
		{"all", true, nil, false},
		{"0:65535", true, nil, false},
		{"2000:1000", false, nil, true},
		{"0", false, nil, true},
		{"", false, nil, true},
		{true, false, nil, true},
	}
	for _, tt := range tests {
		all, got, err := parsePorts(tt.in)
		if all != tt.all || !cmp.Equal(got, tt.want) || (err != nil) != tt.wantErr {
			t.Errorf("parsePorts(%#v) = %v, %v, %v; want %v, %v, error %v", tt.in, all, got, err, tt.all, tt.want, tt.wantErr)
		}
	}
}

func TestParseBanAction(t *testing.T) {
	tests := []struct {
		in          string
		all, reject bool
		wantErr     bool
	}{
		{"drop", false, false, false},
		{"reject", false, true, false},
		{"nftables", false, true, false},
		{"nftables-multiport", false, true, false},
		{"nftables-allports", true, true, false},
		{"nftables[type=allports]", true, true, false},
		{"iptables-multiport[blocktype=DROP]", false, false, false},
		{"drop[x=1]", false, false, true},
		{"sendmail", false, false, true},
	}
	for _, tt := range tests {
		all, reject, err := parseBanAction(tt.in)
		if all != tt.all || reject != tt.reject || (err != nil) != tt.wantErr {
			t.Errorf("parseBanAction(%q) = %v, %v, %v; want %v, %v, error %v", tt.in, all, reject, err, tt.all, tt.reject, tt.wantErr)
		}
	}
}

func TestParseIgnore(t *testing.T) {
	tests := []struct {
		in      string
		prefix  string
		name    string
		wantErr bool
	}{
		{"192.0.2.7", "192.0.2.7/32", "", false},
		{"::ffff:192.0.2.7", "192.0.2.7/32", "", false},
		{"127.0.0.1/8", "127.0.0.0/8", "", false},
		{"2001:db8::1/32", "2001:db8::/32", "", false},
		{"Bastion.Example.ORG.", "", "bastion.example.org", false},
		{"192.0.2.9/255.255.255.0", "192.0.2.0/24", "", false},
		{"192.0.2.9/255.0.255.0", "", "", true},
		{"300.1.1.1", "", "", true},
		{"file:/etc/ips", "", "", true},
		{"a_b", "", "", true},
	}
	for _, tt := range tests {
		p, name, err := parseIgnore(tt.in)
		var want netip.Prefix
		if tt.prefix != "" {
			want = netip.MustParsePrefix(tt.prefix)
		}
		if p != want || name != tt.name || (err != nil) != tt.wantErr {
			t.Errorf("parseIgnore(%q) = %v, %q, %v; want %v, %q, error %v", tt.in, p, name, err, want, tt.name, tt.wantErr)
		}
	}
}

func TestParseJournalMatch(t *testing.T) {
	got, err := ParseJournalMatch("_SYSTEMD_UNIT=sshd.service + _COMM=sshd")
	if diff := cmp.Diff([]string{"_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd"}, got); diff != "" || err != nil {
		t.Errorf("ParseJournalMatch mismatch (err %v) (-want +got):\n%s", err, diff)
	}
	for _, bad := range []string{"+", "_COMM=a + + _COMM=b", "comm=sshd", "_COMM=a +"} {
		if _, err := ParseJournalMatch(bad); err == nil {
			t.Errorf("ParseJournalMatch(%q) = nil error, want one", bad)
		}
	}
}

func TestKeyLines(t *testing.T) {
	src := `# comment = 1
a = 1
"quoted.key" = 'x' # trailing
b.c . d = """
e = 2
"""
arr = [
  "f = 3", # comment ]
  [1, 2],
]
inline = { g = 1, "h i" = { j = 2 } }

[[tab.les]]
k = '''
l = 4'''
[ x . "y" ]
m = 1979-05-27 07:32:00Z
n = 5
`
	want := map[string]int{
		"a": 2, `"quoted.key"`: 3, "b": 4, "b.c": 4, "b.c.d": 4, "arr": 7, "inline": 11, "inline.g": 11,
		`inline."h i"`: 11, `inline."h i".j`: 11, "tab": 13, "tab.les": 13, "tab.les.k": 14,
		"x": 16, "x.y": 16, "x.y.m": 17, "x.y.n": 18,
	}
	if diff := cmp.Diff(want, keyLines(src)); diff != "" {
		t.Errorf("keyLines mismatch (-want +got):\n%s", diff)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GB": 1e9, "500MB": 500e6, "2GiB": 2 << 30, "1048576": 1 << 20, "10 MiB": 10 << 20, "0B": 0} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := ParseSize(FormatSize(got)); err != nil || back != got {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", got, back, err)
		}
	}
	for _, bad := range []string{"", "GB", "-1MB", "1TB", "1.5GB", "99999999999999999999"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): no error", bad)
		}
	}
}
