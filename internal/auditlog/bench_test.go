package auditlog

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkParseAndJoin parses the real enriched lines and joins them into
// events, as the daemon's source does for each line of audit.log.
func BenchmarkParseAndJoin(b *testing.B) {
	data, err := os.ReadFile("testdata/enriched.log")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	a := NewAssembler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		r, err := Parse([]byte(l))
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range a.Add(r) {
			Describe(ev)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
