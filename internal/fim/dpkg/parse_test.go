package dpkg

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseMD5Sums(t *testing.T) {
	var got []string
	err := ParseMD5Sums(strings.NewReader("7210080490f9fd139c1b44fa0f730988  bin/bash\n\n12c7981c8fed81743552e47dd4b1483e  usr/share/a file\n"), func(p string, sum [16]byte) {
		got = append(got, p)
	})
	if err != nil || !cmp.Equal(got, []string{"/bin/bash", "/usr/share/a file"}) {
		t.Errorf("ParseMD5Sums = %v, %v", got, err)
	}
	for _, bad := range []string{"xyz  a\n", "7210080490f9fd139c1b44fa0f73098  bin/bash\n", "7210080490f9fd139c1b44fa0f73098g  bin/bash\n"} {
		if err := ParseMD5Sums(strings.NewReader("7210080490f9fd139c1b44fa0f730988  ok\n"+bad), func(string, [16]byte) {}); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseMD5Sums(%q) = %v, want an error naming line 2", bad, err)
		}
	}
}

func TestParseLog(t *testing.T) {
	log := `2024-05-01 10:00:00 startup archives unpack
2024-05-01 10:00:01 upgrade openssh-server:amd64 1:9.2p1-2 1:9.2p1-2+deb12u3
2024-05-01 10:00:01 status half-configured openssh-server:amd64 1:9.2p1-2+deb12u3
2024-05-01 10:00:02 install rfim-demo:all <none> 1.0
garbage line
2024-05-01 10:00:03 remove rfim-demo:all 1.0 <none>
`
	var got []Action
	skipped, err := ParseLog(strings.NewReader(log), time.UTC, func(a Action) { got = append(got, a) })
	if err != nil || skipped != 1 {
		t.Fatalf("ParseLog: skipped %d, %v", skipped, err)
	}
	want := []Action{
		{time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC), "upgrade", "openssh-server", "amd64", "1:9.2p1-2", "1:9.2p1-2+deb12u3"},
		{time.Date(2024, 5, 1, 10, 0, 2, 0, time.UTC), "install", "rfim-demo", "all", "<none>", "1.0"},
		{time.Date(2024, 5, 1, 10, 0, 3, 0, time.UTC), "remove", "rfim-demo", "all", "1.0", "<none>"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseLog (-want +got):\n%s", diff)
	}
}

func TestParseStatus(t *testing.T) {
	st := "Package: a\nStatus: install ok installed\nVersion: 1.0\nDescription: x\n continued: line\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n"
	var got []Package
	if err := ParseStatus(strings.NewReader(st), func(p Package) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	want := []Package{{Name: "a", Version: "1.0", Status: "installed"}, {Name: "b", Version: "2", Status: "config-files"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseStatus (-want +got):\n%s", diff)
	}
}

func TestParseDiversions(t *testing.T) {
	var got []Diversion
	err := ParseDiversions(strings.NewReader("/usr/bin/x\n/usr/bin/x.real\npkg\n"), func(d Diversion) { got = append(got, d) })
	if err != nil || !cmp.Equal(got, []Diversion{{"/usr/bin/x", "/usr/bin/x.real", "pkg"}}) {
		t.Errorf("ParseDiversions = %v, %v", got, err)
	}
	if err := ParseDiversions(strings.NewReader("/a\n/b\n"), func(Diversion) {}); err == nil {
		t.Errorf("a cut-short diversion was accepted")
	}
}
