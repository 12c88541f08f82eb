package firewall

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "192.0.2.1/32", want: "192.0.2.1/32"},
		{in: "192.0.2.77/24", want: "192.0.2.0/24"},
		{in: "2001:db8::1/128", want: "2001:db8::1/128"},
		{in: "2001:db8:1:2:3::1/64", want: "2001:db8:1:2::/64"},
		{in: "::ffff:192.0.2.9/128", want: "192.0.2.9/32"},
		{in: "::ffff:198.51.100.0/120", want: "198.51.100.0/24"},
		{in: "::ffff:0:0/95", wantErr: true},
		{in: "0.0.0.0/0", wantErr: true},
		{in: "::/0", wantErr: true},
		{in: "", wantErr: true},
	} {
		var p netip.Prefix
		if tc.in != "" {
			p = netip.MustParsePrefix(tc.in)
		}
		got, err := Normalize(p)
		if (err != nil) != tc.wantErr {
			t.Errorf("Normalize(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && got.String() != tc.want {
			t.Errorf("Normalize(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestValidateJails(t *testing.T) {
	ok := JailSpec{Name: "sshd", Ports: []PortRange{{22, 22}}, Protocols: []string{"tcp"}}
	for _, tc := range []struct {
		name  string
		jails []JailSpec
		want  string // substring of the error; "" = valid
	}{
		{"valid", []JailSpec{ok, {Name: "nginx-http_auth.1", Action: Reject}}, ""},
		{"empty name", []JailSpec{{Name: ""}}, "1-64"},
		{"long name", []JailSpec{{Name: strings.Repeat("a", 65)}}, "1-64"},
		{"bad char", []JailSpec{{Name: "ssh d"}}, "letters"},
		{"duplicate", []JailSpec{ok, ok}, "defined twice"},
		{"port zero", []JailSpec{{Name: "x", Ports: []PortRange{{0, 1}}}}, "bad port range"},
		{"reversed range", []JailSpec{{Name: "x", Ports: []PortRange{{90, 80}}}}, "bad port range"},
		{"protocol", []JailSpec{{Name: "x", Protocols: []string{"icmp"}}}, "unknown protocol"},
		{"action", []JailSpec{{Name: "x", Action: 7}}, "unknown action"},
	} {
		err := ValidateJails(tc.jails)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: ValidateJails() = %v, want error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	jails := map[string]bool{"sshd": true}
	p := netip.MustParsePrefix
	c := Change{
		Remove: []Ban{{Jail: "sshd", Prefix: p("192.0.2.1/32")}, {Jail: "nope", Prefix: p("192.0.2.2/32")}},
		Add: []Ban{
			{Jail: "sshd", Prefix: p("::ffff:192.0.2.3/128"), Timeout: time.Minute},
			{Jail: "sshd", Prefix: netip.Prefix{}},
			{Jail: "sshd", Prefix: p("198.51.100.7/24"), Timeout: -time.Second},
			{Jail: "sshd", Prefix: p("198.51.100.7/24")},
		},
	}
	remove, add, failed := Check(c, jails)
	wantRemove := []Ban{{Jail: "sshd", Prefix: p("192.0.2.1/32")}}
	wantAdd := []Ban{
		{Jail: "sshd", Prefix: p("192.0.2.3/32"), Timeout: time.Minute},
		{Jail: "sshd", Prefix: p("198.51.100.0/24")},
	}
	cmpOpt := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if diff := cmp.Diff(wantRemove, remove, cmpOpt); diff != "" {
		t.Errorf("Check remove (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAdd, add, cmpOpt); diff != "" {
		t.Errorf("Check add (-want +got):\n%s", diff)
	}
	if len(failed) != 3 || !errors.Is(failed[0].Err, ErrUnknownJail) || failed[0].Op != OpRemove {
		t.Fatalf("Check failed = %v, want 3 with the unknown jail first", failed)
	}
	err := Result(c.Len(), failed)
	var be *BatchError
	if !errors.As(err, &be) || be.Total != 6 || len(be.Failed) != 3 {
		t.Fatalf("Result = %v, want *BatchError with 3 of 6", err)
	}
	if got := err.Error(); !strings.Contains(got, "3 of 6 elements failed") || !strings.Contains(got, "remove nope 192.0.2.2/32: unknown jail") {
		t.Errorf("BatchError.Error() = %q", got)
	}
	if Result(3, nil) != nil {
		t.Errorf("Result(3, nil) != nil")
	}
}
