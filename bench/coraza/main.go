// Command coraza runs the issue 11 anchor, Coraza v3 with the OWASP CRS v4
// (paranoia level 1, inbound anomaly threshold 5, the CRS defaults), on an
// access log, so scripts/bench-coraza.sh can measure rampart beside it on
// the same lines: one JSON line {"line":N,"ip":"…"} per request CRS would
// block, then a summary on stderr. It is a separate module so that the
// rampart binary and its module never depend on Coraza.
//
// usage: coraza LOG > blocked.json
//
//	coraza -tolog CORPUSDIR LOG.out CATEGORIES.out   (a held-out corpus as an access log)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"

	"github.com/rampart-ids/rampart/internal/accesslog"
)

func main() {
	toLog := flag.String("tolog", "", "write the held-out corpus in `DIR` as an access log (args: LOG CATEGORIES) and exit")
	flag.Parse()
	if *toLog != "" {
		if flag.NArg() != 2 {
			fail(fmt.Errorf("-tolog DIR LOG CATEGORIES"))
		}
		fail(writeCorpusLog(*toLog, flag.Arg(0), flag.Arg(1)))
		return
	}
	if flag.NArg() != 1 {
		fail(fmt.Errorf("usage: coraza LOG"))
	}
	fail(run(flag.Arg(0)))
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "coraza:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	t0, c0 := time.Now(), cpu()
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(`Include @coraza.conf-recommended
Include @crs-setup.conf.example
Include @owasp_crs/*.conf
SecRuleEngine On`))
	if err != nil {
		return err
	}
	load := time.Since(t0)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	p := accesslog.NewParser(accesslog.Auto)
	var r accesslog.Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, blocked, skipped := 0, 0, 0
	for sc.Scan() {
		n++
		if err := p.Parse(sc.Bytes(), &r); err != nil {
			skipped++
			continue
		}
		if block(waf, &r) {
			blocked++
			if err := enc.Encode(struct {
				Line int    `json:"line"`
				IP   string `json:"ip"`
			}{n, string(r.Addr)}); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	wall, c := time.Since(t0), cpu()-c0
	fmt.Fprintf(os.Stderr, "coraza: %d lines, %d blocked, %d skipped; rules loaded in %.2f s; wall %.2f s, CPU %.2f s: %.0f lines/s by CPU\n",
		n, blocked, skipped, load.Seconds(), wall.Seconds(), c.Seconds(), float64(n)/c.Seconds())
	return nil
}

// block reports whether CRS blocks the request as an access log shows it:
// method, target, Host, User-Agent and Referer (and the Accept header every
// browser sends, which access logs do not record).
func block(waf coraza.WAF, r *accesslog.Request) bool {
	tx := waf.NewTransaction()
	defer func() { tx.ProcessLogging(); tx.Close() }()
	tx.ProcessConnection(string(r.Addr), 40000, "192.0.2.1", 80)
	tx.ProcessURI(string(r.Target), string(r.Method), "HTTP/1.1")
	host := "www.example.com"
	if len(r.Host) > 0 {
		host = string(r.Host)
	}
	tx.AddRequestHeader("Host", host)
	tx.AddRequestHeader("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if len(r.UserAgent) > 0 && string(r.UserAgent) != "-" {
		tx.AddRequestHeader("User-Agent", string(r.UserAgent))
	}
	if len(r.Referer) > 0 && string(r.Referer) != "-" {
		tx.AddRequestHeader("Referer", string(r.Referer))
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return true
	}
	it, err := tx.ProcessRequestBody()
	return err == nil && it != nil
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
