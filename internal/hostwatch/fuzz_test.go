package hostwatch

import (
	"os"
	"testing"
)

// FuzzParseBaseline: any bytes are a baseline or a clear refusal, never a panic.
func FuzzParseBaseline(f *testing.F) {
	b := &Baseline{Version: baselineVersion, Root: "/", Collectors: map[string]Section{"x": {Items: []Item{{Key: "k", Value: "v"}}}}}
	file := f.TempDir() + "/b"
	if err := b.Save(file); err != nil {
		f.Fatal(err)
	}
	data, _ := readAll(file)
	f.Add(data)
	f.Add([]byte("{}\nsha256:00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseBaseline("fuzz", data)
		if err == nil && b.Collectors == nil {
			t.Fatal("accepted a baseline without collectors map")
		}
	})
}

// FuzzParseProcNet: a /proc/net table of any shape yields sockets or none.
func FuzzParseProcNet(f *testing.F) {
	f.Add("tcp", procTCP)
	f.Add("udp6", "  sl\n 0: 00000000000000000000000000000000:0202 00000000000000000000000000000000:0000 07 0 0 0 0 0 0 77\n")
	f.Fuzz(func(t *testing.T, proto, data string) {
		for _, s := range parseProcNet(proto, []byte(data)) {
			if !s.addr.IsValid() {
				t.Fatalf("invalid address from %q", data)
			}
		}
	})
}

// FuzzParseAuthorizedKey: any line parses or not, never panics.
func FuzzParseAuthorizedKey(f *testing.F) {
	f.Add(`no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl c`)
	f.Add("ssh-rsa ====")
	f.Fuzz(func(t *testing.T, l string) {
		if typ, fp, _, ok := parseAuthorizedKey(l); ok && (typ == "" || len(fp) != len("SHA256:")+43) {
			t.Fatalf("bad parse of %q: %q %q", l, typ, fp)
		}
	})
}

func readAll(file string) ([]byte, error) { return os.ReadFile(file) }
