package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"
)

// background lines that no sshd filter matches.
var benignLines = []string{
	"systemd-logind[612]: New session %d of user deploy.",
	"CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
	"CRON[%d]: pam_unix(cron:session): session closed for user root",
	"sshd[%d]: Accepted publickey for deploy from 198.51.100.7 port 52210 ssh2: ED25519 SHA256:q2mBr3gSxv0a0E3Lr1jGQ0",
	"sshd[%d]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
	"sudo[%d]:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/apt-get update",
}

// bgNet holds the background's failing addresses: 2001:db8:1::/48, apart
// from the attackers (198.19.200.0/22).
var bgNet = netip.MustParsePrefix("2001:db8:1::/48")

// loaded measures the time from writing an attacker's maxretry-th failure
// to its address being in the kernel's set, while other lines arrive in
// the same log at -rate lines/s: a -fails share of them failures of
// addresses that each fail maxretry-1 times (counted, never banned), the
// rest lines no filter matches. Every line is its own write(2), as a
// syslog daemon writes them.
func loaded(args []string) error {
	fs := flag.NewFlagSet("loaded", flag.ExitOnError)
	ns := fs.String("ns", "", "network namespace name")
	logf := fs.String("log", "", "log file the jail watches")
	n := fs.Int("n", 200, "attacks")
	maxRetry := fs.Int("maxretry", 3, "the jail's maxretry")
	rate := fs.Int("rate", 1000, "background lines per second")
	fails := fs.Float64("fails", 0.3, "share of background lines that are failures (maxretry-1 per address)")
	fs.Parse(args)
	if *maxRetry < 2 {
		return fmt.Errorf("-maxretry %d: the background needs maxretry >= 2", *maxRetry)
	}
	w, err := watch(*ns)
	if err != nil {
		return err
	}
	defer w.close()
	f, err := os.OpenFile(*logf, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var mu sync.Mutex // one write at a time (O_APPEND makes each atomic anyway)
	write := func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		_, err := f.Write(b)
		return err
	}
	stamp := func() string { return time.Now().Format("2006-01-02T15:04:05.000000-07:00") }

	// The background writer: every millisecond, the lines due by then.
	stop := make(chan struct{})
	bgDone := make(chan error, 1)
	var bgLines, bgFails int
	go func() {
		rnd := rand.New(rand.NewPCG(1, 2))
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-stop:
				bgDone <- nil
				return
			case now := <-t.C:
				due := int(now.Sub(start).Seconds() * float64(*rate))
				for ; bgLines < due; bgLines++ {
					var line string
					if rnd.Float64() < *fails {
						// Address k fails maxretry-1 times, back to back.
						k := bgFails / (*maxRetry - 1)
						a := bgNet.Addr().As16()
						a[12], a[13], a[14], a[15] = byte(k>>24), byte(k>>16), byte(k>>8), byte(k)
						line = fmt.Sprintf("%s vm sshd[%d]: Failed password for invalid user guest from %s port %d ssh2\n",
							stamp(), 1000+bgFails%60000, netip.AddrFrom16(a), 1024+bgFails%60000)
						bgFails++
					} else {
						line = stamp() + " vm " + fmt.Sprintf(benignLines[rnd.IntN(len(benignLines))], 1000+rnd.IntN(60000)) + "\n"
					}
					if err := write([]byte(line)); err != nil {
						bgDone <- err
						return
					}
				}
			}
		}
	}()
	stopBG := func() error { close(stop); return <-bgDone }

	rnd := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, *n)
	began := time.Now()
	for i := range *n {
		a := netip.AddrFrom4([4]byte{198, 19, byte(200 + i/250), byte(1 + i%250)})
		line := func(j int) []byte {
			return fmt.Appendf(nil, "%s vm sshd[%d]: Failed password for root from %s port %d ssh2\n", stamp(), 2000+i, a, 30000+j)
		}
		for j := range *maxRetry - 1 {
			if err := write(line(j)); err != nil {
				stopBG()
				return err
			}
		}
		// Give the daemon time to count the first failures, and keep the
		// attacks out of step with its timers.
		time.Sleep(20*time.Millisecond + time.Duration(rnd.IntN(20))*time.Millisecond)
		last := line(*maxRetry - 1)
		start := time.Now()
		if err := write(last); err != nil {
			stopBG()
			return err
		}
		at, err := w.wait(a, start.Add(10*time.Second))
		if err != nil {
			stopBG()
			return fmt.Errorf("attack %d: %w", i, err)
		}
		lat = append(lat, at.Sub(start))
	}
	elapsed := time.Since(began)
	if err := stopBG(); err != nil {
		return err
	}
	// No background address reached maxretry: none may be banned.
	time.Sleep(200 * time.Millisecond)
	if wrong := w.count(bgNet.Contains); wrong > 0 {
		return fmt.Errorf("%d background addresses (maxretry-1 failures each) were banned", wrong)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("loaded latency over %d attacks (failure %d written -> element in the kernel, nftables events) with %d other lines in %.1f s (%.0f lines/s, %d of them failures of %d addresses, none banned): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		len(lat), *maxRetry, bgLines, elapsed.Seconds(), float64(bgLines)/elapsed.Seconds(), bgFails, (bgFails+*maxRetry-2)/(*maxRetry-1),
		ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(lat[len(lat)-1]))
	return nil
}
