package fim

import (
	"crypto/sha256"
	"testing"
)

// FuzzDecode feeds the baseline decoder arbitrary bytes, both as they come
// (the checksum refuses nearly all) and with a valid checksum appended, so
// that the record parser behind it is reached. It must never panic, and
// whatever it accepts must decode to entries that encode back the same.
func FuzzDecode(f *testing.F) {
	var set recordSet
	set.add(&Entry{Path: "/etc", Type: TypeDir, Mode: 0o755})
	set.add(&Entry{Path: "/etc/passwd", Type: TypeRegular, Mode: 0o644, Size: 10, HasHash: true, Xattrs: []Xattr{{"security.capability", []byte{1, 0, 0, 2}}}})
	set.add(&Entry{Path: "/etc/l", Type: TypeSymlink, Mode: 0o777, Link: "passwd"})
	good, _ := encode(Meta{Root: "/", Paths: []string{"/etc"}}, set.sorted())
	f.Add(good)
	f.Add(good[:len(good)-sha256.Size])
	f.Add([]byte("RPFIM\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Decode(data)
		sum := sha256.Sum256(data)
		b, err := Decode(append(data[:len(data):len(data)], sum[:]...))
		if err != nil {
			return
		}
		for i := 0; i < b.Len(); i++ {
			e := b.Entry(i)
			again, err := decodeEntry(appendEntry(nil, &e))
			if err != nil || again.Path != e.Path || again.Hash != e.Hash || again.Mode != e.Mode {
				t.Fatalf("record %d does not round-trip: %v", i, err)
			}
			if b.Find(e.Path) != i {
				t.Fatalf("Find(%q) != %d", e.Path, i)
			}
		}
	})
}
