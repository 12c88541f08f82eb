package textpages

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestMappings(t *testing.T) {
	maps := `00400000-014d1000 r-xp 00000000 fe:01 123 /usr/sbin/rampart
014d1000-025c1000 r--p 010d1000 fe:01 123 /usr/sbin/rampart
025c1000-02684000 rw-p 021c1000 fe:01 123 /usr/sbin/rampart
02684000-046d2000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7ffd1000-7ffd2000 r-xp 00000000 00:00 0 [vdso]
zz-yy r-xp 0 0 0 /usr/sbin/rampart
00400000-014d1000 r-xp 00000000 fe:01 123 /usr/sbin/rampart-other
`
	got := Mappings([]byte(maps), "/usr/sbin/rampart")
	want := []Mapping{{0x400000, 0x14d1000, "r-xp"}, {0x14d1000, 0x25c1000, "r--p"}, {0x25c1000, 0x2684000, "rw-p"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func rssFile(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssFile:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestRelease drops the test binary's clean pages and keeps running: the
// file-backed resident set shrinks, and code and read-only data still work
// (they fault back from the page cache).
func TestRelease(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	if err := Random(); err != nil {
		t.Fatal(err)
	}
	before := rssFile(t)
	if err := Release(); err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	t.Logf("RssFile %d kB -> %d kB", before, after)
	if after >= before {
		t.Errorf("RssFile did not shrink: %d kB -> %d kB", before, after)
	}
	// Code and data still work after their pages were dropped.
	if s := strconv.Itoa(12345) + strings.Repeat("x", 3); s != "12345xxx" {
		t.Errorf("got %q", s)
	}
}
