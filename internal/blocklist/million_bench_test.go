package blocklist

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"syscall"
	"testing"

	"github.com/rampart-ids/rampart/internal/netns"
)

// millionList is a list of n entries, 70 % IPv4 networks and addresses
// (/16 to /32), 30 % IPv6 (/32 to /128), in the lines format.
func millionList(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if rng.IntN(10) < 7 {
			a := netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			fmt.Fprintf(&b, "%s\n", netip.PrefixFrom(a, 16+rng.IntN(17)).Masked())
		} else {
			var s [16]byte
			s[0], s[1], s[2], s[3] = 0x20, 0x01, 0x0d, 0xb8
			for j := 4; j < 16; j++ {
				s[j] = byte(rng.IntN(256))
			}
			fmt.Fprintf(&b, "%s\n", netip.PrefixFrom(netip.AddrFrom16(s), 32+rng.IntN(97)).Masked())
		}
	}
	return b.Bytes()
}

// BenchmarkMillionInKernel: 1,000,000 entries parsed, merged and put in a
// namespace's kernel in one transaction (root). Reports the ranges and the
// process's peak RSS (which includes the generated list itself).
func BenchmarkMillionInKernel(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "blbench")
	body := millionList(1_000_000)
	runtime.GC()
	k := Kernel{NetNS: ns.Fd()}
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		r, err := Parse(bytes.NewReader(body), Auto, 0)
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
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(n), "ranges")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
}
