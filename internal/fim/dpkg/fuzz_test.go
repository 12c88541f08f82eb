package dpkg

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func FuzzParseMD5Sums(f *testing.F) {
	f.Add([]byte("7210080490f9fd139c1b44fa0f730988  bin/bash\n12c7981c8fed81743552e47dd4b1483e *usr/bin/x y\n"))
	f.Add([]byte("7210080490f9fd139c1b44fa0f730988  \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseMD5Sums(bytes.NewReader(data), func(p string, _ [16]byte) {
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "\n") {
				t.Fatalf("path %q", p)
			}
		})
	})
}

func FuzzParseLog(f *testing.F) {
	f.Add([]byte("2024-05-01 10:00:01 upgrade openssh-server:amd64 1:9.2p1-2 1:9.2p1-2+deb12u3\n2024-05-01 10:00:01 status installed x 1\n"))
	f.Add([]byte("2024-13-01 10:00:01 install a <none> 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseLog(bytes.NewReader(data), time.UTC, func(a Action) {
			switch a.Kind {
			case "install", "upgrade", "remove", "purge":
			default:
				t.Fatalf("action kind %q", a.Kind)
			}
		})
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseStatus(bytes.NewReader(data), func(p Package) {
			if p.Name == "" {
				t.Fatal("stanza without a name emitted")
			}
		})
	})
}

func FuzzParseDiversions(f *testing.F) {
	f.Add([]byte("/usr/bin/x\n/usr/bin/x.real\npkg\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseDiversions(bytes.NewReader(data), func(Diversion) {})
	})
}
