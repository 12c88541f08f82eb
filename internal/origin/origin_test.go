package origin

import "testing"

func TestStringParse(t *testing.T) {
	for _, o := range []Origin{OfJail("sshd"), OfManual("root"), {Kind: Fleet, Name: "web-1"}, {Kind: Kernel, Name: "limit api"}, {Kind: Blocklist, Name: "drop"}, {Kind: Manual}} {
		got, err := Parse(o.String())
		if err != nil || got != o {
			t.Errorf("Parse(%q) = %v, %v; want %v", o.String(), got, err, o)
		}
	}
	for _, bad := range []string{"", "filter sshd", "jail a\nb", "JAIL sshd"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("jail sshd")
	f.Add("kernel limit api")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Parse(s)
		if err != nil {
			return
		}
		if back, err := Parse(o.String()); err != nil || back != o {
			t.Fatalf("Parse(%q) = %v; round trip %v, %v", s, o, back, err)
		}
	})
}
