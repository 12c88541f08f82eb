package blocklist

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/netns"
)

// resetPeakRSS resets the process's peak resident set size (VmHWM) to
// its current RSS (Linux ≥ 4.0: clear_refs 5).
func resetPeakRSS(tb testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// statusMB reads a "VmXXX:  N kB" line of /proc/self/status in MB.
func statusMB(tb testing.TB, key string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	tb.Fatalf("no %s in /proc/self/status", key)
	return 0
}

// BenchmarkMillionFromFile is the daemon's path for a list of 1,000,000
// entries (mixed IPv4/IPv6 CIDRs): the saved copy on disk read and
// parsed, merged with an allowlist cut out, loaded into a namespace's
// kernel and swapped in. The generated list is written to disk first and
// dropped, then the peak RSS is reset, so "peak-RSS-MB" is the path's
// high-water mark (with the test binary's own pages, "base-RSS-MB").
func BenchmarkMillionFromFile(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "blpeak")
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "million.list"), millionList(1_000_000), 0o600); err != nil {
		b.Fatal(err)
	}
	src := &Source{Name: "million", URL: "http://192.0.2.1/million.txt", Dir: dir}
	k := Kernel{NetNS: ns.Fd()}
	runtime.GC()
	debug.FreeOSMemory()
	base := statusMB(b, "VmRSS")
	resetPeakRSS(b)
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		r, err := src.Cached()
		if err != nil {
			b.Fatal(err)
		}
		rs := r.Ranges(nil)
		if err := k.Replace("million", rs); err != nil {
			b.Fatal(err)
		}
		n = len(rs)
	}
	b.StopTimer()
	b.ReportMetric(float64(n), "ranges")
	b.ReportMetric(base, "base-RSS-MB")
	b.ReportMetric(statusMB(b, "VmHWM"), "peak-RSS-MB")
}

// BenchmarkMillionFetched is the same list fetched over HTTP from a
// loopback server (in this process, streaming the file from disk):
// fetched, parsed while it is written to disk, merged, loaded, swapped.
func BenchmarkMillionFetched(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "blfetch")
	dir := b.TempDir()
	file := filepath.Join(dir, "served.txt")
	if err := os.WriteFile(file, millionList(1_000_000), 0o600); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(file)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		io.Copy(w, f)
	}))
	defer srv.Close()
	src := &Source{Name: "million", URL: srv.URL + "/list.txt", Dir: filepath.Join(dir, "state")}
	k := Kernel{NetNS: ns.Fd()}
	runtime.GC()
	debug.FreeOSMemory()
	base := statusMB(b, "VmRSS")
	resetPeakRSS(b)
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		f, err := src.Fetch(context.Background())
		if err != nil || !f.Changed {
			b.Fatalf("fetch: changed %v, %v", f.Changed, err)
		}
		rs := f.Ranges(nil)
		if err := k.Replace("million", rs); err != nil {
			b.Fatal(err)
		}
		n = len(rs)
	}
	b.StopTimer()
	b.ReportMetric(float64(n), "ranges")
	b.ReportMetric(base, "base-RSS-MB")
	b.ReportMetric(statusMB(b, "VmHWM"), "peak-RSS-MB")
}
