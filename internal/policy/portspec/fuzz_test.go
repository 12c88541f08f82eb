package portspec

import "testing"

// FuzzParse: any input either fails or yields a spec whose String parses
// back to the same spec.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"22/tcp", "60000-61000/udp", "0/tcp", "65536/tcp", "5-3/udp", "x/tcp", "22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if p.From == 0 || p.To < p.From || (p.Proto != "tcp" && p.Proto != "udp") {
			t.Fatalf("Parse(%q) = %+v", s, p)
		}
		q, err := Parse(p.String())
		if err != nil || q != p {
			t.Fatalf("Parse(%q) = %+v; String %q parses to %+v, %v", s, p, p.String(), q, err)
		}
	})
}
