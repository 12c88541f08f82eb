package filterload

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
)

// BenchmarkFloodLog matches every line of $RAMPART_BENCH_LOG (e.g. made by
// ../shared/bench/genflood.py) with the built-in sshd filter and, when the
// Fail2ban package is unpacked, with its sshd.conf.
func BenchmarkFloodLog(b *testing.B) {
	data, err := os.ReadFile(benchLog(b))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte{'\n'})
	specs := map[string]string{"builtin-sshd": "sshd"}
	if root := corpusRootOptional(); root != "" {
		specs["fail2ban-sshd.conf"] = root + "/etc/fail2ban/filter.d/sshd.conf"
	}
	now := time.Now()
	for name, spec := range specs {
		b.Run(name, func(b *testing.B) {
			l, err := Load(spec, "", filter.Options{})
			if err != nil {
				b.Fatal(err)
			}
			m := l.Filter.NewMatcher()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, ln := range lines {
					m.Match(ln, now)
				}
				n += len(lines)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// benchLog is the auth log named by $RAMPART_BENCH_LOG, or skips.
func benchLog(b *testing.B) string {
	path := os.Getenv("RAMPART_BENCH_LOG")
	if path == "" {
		b.Skip("set RAMPART_BENCH_LOG to an auth log (../shared/bench/genflood.py OUT 10000 10 9)")
	}
	return path
}

// BenchmarkScanFloodLog is BenchmarkFloodLog through Scan, the reading
// loop of `rampart filter test`.
func BenchmarkScanFloodLog(b *testing.B) {
	path := benchLog(b)
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
