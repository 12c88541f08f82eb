package filterload

import (
	"os"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
)

// BenchmarkScanFloodLog is BenchmarkFloodLog through Scan, the reading
// loop of `rampart filter test`.
func BenchmarkScanFloodLog(b *testing.B) {
	path := os.Getenv("RAMPART_BENCH_LOG")
	if path == "" {
		b.Skip("set RAMPART_BENCH_LOG to an auth log (../shared/bench/genflood.py OUT 10000 10 9)")
	}
	l, err := Load("sshd", "", filter.Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		st, err := Scan(f, l.Filter.NewMatcher(), time.Now, func(int, []byte, *filter.Result) {})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		n += st.Lines
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
