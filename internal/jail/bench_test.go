package jail

import (
	"bufio"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchAddr returns the i-th address of 2001:db8::/32, a documentation range.
func benchAddr(i int) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[12], b[13], b[14], b[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return netip.AddrFrom16(b)
}

// BenchmarkFailSame is the steady case: one address failing again and again
// (and banned every maxretry-th time).
func BenchmarkFailSame(b *testing.B) {
	j := mustJail(b, Config{MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: time.Hour})
	addr := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j.Fail(addr, t0.Add(time.Duration(i)*time.Millisecond))
		i++
	}
}

// BenchmarkFailFlood is a flood of distinct addresses past the cap: every
// failure inserts a prefix and evicts the oldest.
func BenchmarkFailFlood(b *testing.B) {
	j := mustJail(b, Config{MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: time.Hour})
	addrs := make([]netip.Addr, 1<<20)
	for i := range addrs {
		addrs[i] = benchAddr(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j.Fail(addrs[i&(len(addrs)-1)], t0)
		i++
	}
	b.ReportMetric(float64(j.Stats().Evictions)/float64(b.N), "evictions/op")
}

// BenchmarkFailParallel measures the jail's lock under contention.
func BenchmarkFailParallel(b *testing.B) {
	j := mustJail(b, Config{MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: time.Hour})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			j.Fail(benchAddr(i&0xffff), t0)
			i++
		}
	})
}

// BenchmarkTrackMillion tracks 1,000,000 failing addresses (one failure
// each, maxretry 5) in one jail and reports the memory it holds: the Go
// heap and the process RSS after a GC, and bytes per tracked address. Run
// it once: go test ./internal/jail -run '^$' -bench TrackMillion -benchtime 1x
func BenchmarkTrackMillion(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		j := mustJail(b, Config{MaxRetry: 5, FindTime: time.Hour, BanTime: time.Hour, MaxTracked: n})
		start := time.Now()
		for i := range n {
			j.Fail(benchAddr(i), t0)
		}
		elapsed := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := j.Stats().Tracked; got != n {
			b.Fatalf("Tracked = %d, want %d", got, n)
		}
		heap := float64(after.HeapAlloc - before.HeapAlloc)
		b.ReportMetric(heap/(1<<20), "heap-MB")
		b.ReportMetric(heap/n, "bytes/addr")
		b.ReportMetric(float64(procStatus(b, "VmRSS"))/1024, "rss-MB")
		b.ReportMetric(float64(procStatus(b, "VmHWM"))/1024, "peak-rss-MB")
		b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/insert")
		runtime.KeepAlive(j)
	}
}

// procStatus returns a kB field of /proc/self/status, or 0 where there is none.
func procStatus(tb testing.TB, field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				tb.Fatalf("%s: %v", field, err)
			}
			return v
		}
	}
	return 0
}
