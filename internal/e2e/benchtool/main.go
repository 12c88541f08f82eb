// Command benchtool is the measuring half of scripts/bench-daemon.sh: it
// appends logs to a file a running rampart watches and times how long the
// bans take to reach the kernel (read over netlink inside the benchmark's
// network namespace), pre-fills a state database with active bans, and
// writes a log of a million distinct failing addresses.
//
//	benchtool flood    -ns NAME -log FILE -from FLOOD -want N
//	benchtool latency  -ns NAME -log FILE -socket SOCK -n 200 -maxretry 3
//	benchtool loaded   -ns NAME -log FILE -n 200 -maxretry 3 -rate 1000
//	benchtool waitbans -ns NAME -want N [-since UNIXNANO]
//	benchtool prefill  -db FILE -n 100000 -jail sshd
//	benchtool gen      -out FILE -n 1000000
//	benchtool portscan -ns SERVER -atk ATTACKER -dst ADDR -from ADDR -n 200
//
// It is a benchmark helper, not part of rampart; it needs root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool flood|latency|loaded|waitbans|prefill|gen|portscan [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"flood": flood, "latency": latency, "loaded": loaded, "waitbans": waitBans, "prefill": prefill, "gen": gen,
		"portscan": portscan,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "benchtool: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

// kernel reads the bans in table inet rampart of a namespace.
type kernel struct {
	ns *os.File // kept open (and reachable) while fw uses its descriptor
	fw *nft.Backend
}

func openKernel(ns string) (*kernel, error) {
	fd, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return nil, err
	}
	return &kernel{ns: fd, fw: nft.New(nft.Options{NetNS: int(fd.Fd())})}, nil
}

// count returns how many bans the kernel holds.
func (k *kernel) count() (int, error) {
	bans, err := k.fw.List(context.Background())
	return len(bans), err
}

// waitCount polls until the kernel holds want bans and returns when that
// was seen and how many polls it took.
func (k *kernel) waitCount(want int, timeout time.Duration) (time.Time, int, error) {
	deadline := time.Now().Add(timeout)
	polls := 0
	for {
		n, err := k.count()
		polls++
		now := time.Now()
		if err == nil && n >= want {
			return now, polls, nil
		}
		if now.After(deadline) {
			return now, polls, fmt.Errorf("%d bans in the kernel after %v, want %d (last error: %v)", n, timeout, want, err)
		}
		time.Sleep(time.Millisecond)
	}
}

func flood(args []string) error {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	ns := fs.String("ns", "", "network namespace name")
	logf := fs.String("log", "", "log file the jail watches")
	from := fs.String("from", "", "flood to append (genflood.py output)")
	want := fs.Int("want", 10000, "bans expected in the kernel")
	fs.Parse(args)
	k, err := openKernel(*ns)
	if err != nil {
		return err
	}
	w, err := watch(*ns)
	if err != nil {
		return err
	}
	defer w.close()
	data, err := os.ReadFile(*from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*logf, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := f.Write(data); err != nil { // at once: one write
		return err
	}
	f.Close()
	wrote := time.Since(start)
	at, err := w.waitCount(*want, nil, start.Add(60*time.Second))
	if err != nil {
		return err
	}
	// Cross-check the events against the kernel's sets, read once.
	n, err := k.count()
	if err != nil {
		return err
	}
	if n < *want {
		return fmt.Errorf("the events reported %d addresses but the kernel's sets hold %d", *want, n)
	}
	fmt.Printf("flood: %d bytes appended in %v; %d bans in the kernel %.3f s after the append began (nftables events, %d transactions; %d in the sets)\n",
		len(data), wrote.Round(time.Millisecond), *want, at.Sub(start).Seconds(), w.transactions(), n)
	return nil
}

func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	ns := fs.String("ns", "", "network namespace name")
	logf := fs.String("log", "", "log file the jail watches")
	sock := fs.String("socket", "", "control socket")
	jail := fs.String("jail", "sshd", "jail")
	n := fs.Int("n", 200, "attacks")
	maxRetry := fs.Int("maxretry", 3, "the jail's maxretry")
	fs.Parse(args)
	w, err := watch(*ns)
	if err != nil {
		return err
	}
	defer w.close()
	cl := control.NewClient(*sock)
	ctx := context.Background()
	failures := func() (int64, error) {
		r, err := cl.Status(ctx, *jail)
		if err != nil {
			return 0, err
		}
		for _, j := range r.Jails {
			if j.Name == *jail {
				return j.FailuresTotal, nil
			}
		}
		return 0, fmt.Errorf("no jail %q", *jail)
	}
	var lat []time.Duration
	type slow struct {
		i int
		d time.Duration
	}
	var slowest []slow
	for i := range *n {
		a := netip.AddrFrom4([4]byte{198, 19, byte(200 + i/250), byte(1 + i%250)})
		before, err := failures()
		if err != nil {
			return err
		}
		if err := appendLines(*logf, a, *maxRetry-1, i); err != nil {
			return err
		}
		// Let the daemon count the first failures, so that only the last
		// line's path (read, match, count, ban, store, kernel) is timed.
		for deadline := time.Now().Add(10 * time.Second); ; {
			got, err := failures()
			if err != nil {
				return err
			}
			if got >= before+int64(*maxRetry-1) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("attack %d: the first failures of %s were not counted", i, a)
			}
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		if err := appendLines(*logf, a, 1, i); err != nil {
			return err
		}
		at, err := w.wait(a, start.Add(10*time.Second))
		if err != nil {
			return fmt.Errorf("attack %d: %w", i, err)
		}
		d := at.Sub(start)
		lat = append(lat, d)
		slowest = append(slowest, slow{i, d})
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("latency over %d attacks (failure %d written -> element in the kernel, nftables events): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		len(lat), *maxRetry, ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(lat[len(lat)-1]))
	slices.SortFunc(slowest, func(a, b slow) int { return int(b.d - a.d) })
	fmt.Print("slowest (attack: ms):")
	for _, s := range slowest[:min(8, len(slowest))] {
		fmt.Printf(" %d: %.1f", s.i, ms(s.d))
	}
	fmt.Println()
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// appendLines appends n failure lines for a, in one write.
func appendLines(path string, a netip.Addr, n, seq int) error {
	var b []byte
	for j := range n {
		b = fmt.Appendf(b, "%s vm sshd[%d]: Failed password for root from %s port %d ssh2\n",
			time.Now().Format("2006-01-02T15:04:05.000000-07:00"), 2000+seq, a, 30000+j)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

func waitBans(args []string) error {
	fs := flag.NewFlagSet("waitbans", flag.ExitOnError)
	ns := fs.String("ns", "", "network namespace name")
	want := fs.Int("want", 0, "bans expected in the kernel")
	since := fs.Int64("since", 0, "start time, Unix nanoseconds (default: now)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	events := fs.Bool("events", false, "learn from nftables' netlink events instead of polling (subscribe, then create -ready)")
	ready := fs.String("ready", "", "with -events: create this file once subscribed")
	sinceFile := fs.String("since-file", "", "with -events: read the start time (Unix nanoseconds) from this file at the end")
	fs.Parse(args)
	start := time.Now()
	if *since != 0 {
		start = time.Unix(0, *since)
	}
	if *events {
		w, err := watch(*ns)
		if err != nil {
			return err
		}
		defer w.close()
		if *ready != "" {
			if err := os.WriteFile(*ready, nil, 0o644); err != nil {
				return err
			}
		}
		at, err := w.waitCount(*want, nil, time.Now().Add(*timeout))
		if err != nil {
			return err
		}
		if *sinceFile != "" {
			b, err := os.ReadFile(*sinceFile)
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return fmt.Errorf("%s: %w", *sinceFile, err)
			}
			start = time.Unix(0, n)
		}
		fmt.Printf("waitbans: %d bans in the kernel %.3f s after the start (nftables events, %d transactions)\n", *want, at.Sub(start).Seconds(), w.transactions())
		return nil
	}
	k, err := openKernel(*ns)
	if err != nil {
		return err
	}
	at, polls, err := k.waitCount(*want, *timeout)
	if err != nil {
		return err
	}
	fmt.Printf("waitbans: %d bans in the kernel %.3f s after the start (%d polls)\n", *want, at.Sub(start).Seconds(), polls)
	return nil
}

func prefill(args []string) error {
	fs := flag.NewFlagSet("prefill", flag.ExitOnError)
	db := fs.String("db", "", "state database (rampart.db in the state directory)")
	n := fs.Int("n", 100000, "active bans to store")
	jail := fs.String("jail", "sshd", "jail of the bans")
	fs.Parse(args)
	if *n > 1<<17 {
		return fmt.Errorf("-n %d: at most %d addresses in 198.18.0.0/15", *n, 1<<17)
	}
	s, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now()
	bans := make([]store.Ban, 0, *n)
	for i := range *n {
		a := netip.AddrFrom4([4]byte{198, byte(18 + i>>16), byte(i >> 8), byte(i)})
		bans = append(bans, store.Ban{Jail: *jail, Prefix: netip.PrefixFrom(a, 32), Since: now,
			Until: now.Add(time.Hour), Count: 1, Origin: origin.OfJail(*jail)})
	}
	start := time.Now()
	for len(bans) > 0 {
		c := min(len(bans), 10000)
		if err := s.AddBans(context.Background(), bans[:c]); err != nil {
			return err
		}
		bans = bans[c:]
	}
	fmt.Printf("prefill: %d active bans stored in %v\n", *n, time.Since(start).Round(time.Millisecond))
	return nil
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "", "log file to write")
	n := fs.Int("n", 1000000, "distinct failing addresses, one failure each")
	fs.Parse(args)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	var b []byte
	now := time.Now()
	for i := range *n {
		// The first 131,072 in 198.18.0.0/15 (benchmarking), the rest in
		// 2001:db8::/32 (documentation).
		var a netip.Addr
		if i < 1<<17 {
			a = netip.AddrFrom4([4]byte{198, byte(18 + i>>16), byte(i >> 8), byte(i)})
		} else {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 15: 1})
		}
		b = fmt.Appendf(b, "%s vm sshd[%d]: Failed password for root from %s port %d ssh2\n",
			now.Add(time.Duration(i)*time.Microsecond).Format("2006-01-02T15:04:05.000000-07:00"), 1000+i%60000, a, 1024+i%60000)
		if len(b) > 1<<20 {
			if _, err := f.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Close()
}
