package portscan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/policy/portspec"
	"github.com/rampart-ids/rampart/internal/portscan"
)

// pair is a server namespace (where the chain goes) and a client linked to
// it.
type pair struct{ srv, cli *netns.NS }

func newPair(t *testing.T) pair {
	t.Helper()
	netns.SkipUnlessRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("skipping: nft is not installed (apt-get install nftables; scripts/deps.sh)")
	}
	p := pair{srv: netns.New(t, "pssrv"), cli: netns.New(t, "pscli")}
	netns.Link(t, p.srv, p.cli,
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8::1/64")},
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("2001:db8::2/64")})
	return p
}

var testRules = portscan.Rules{
	Group: 4760, Rate: 500, PerSource: 40,
	Ignore: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:5::/48"), netip.MustParsePrefix("203.0.113.7/32")},
	Open:   []portspec.Spec{{Proto: "tcp", From: 22, To: 22}, {Proto: "udp", From: 5353, To: 5353}, {Proto: "tcp", From: 8000, To: 8010}},
}

// TestKernelRendering applies the chain in a namespace and compares what
// nft reads back with the rules the layer means.
func TestKernelRendering(t *testing.T) {
	p := newPair(t)
	k := portscan.Kernel{NetNS: p.srv.Fd()}
	if err := k.Apply(testRules); err != nil {
		t.Fatal(err)
	}
	out := p.srv.MustExec(t, "nft", "list", "table", "inet", "rampart")
	for _, want := range []string{
		"type filter hook input priority filter - 5; policy accept;",
		`iifname "lo" return`,
		"meta pkttype != host return",
		"ct state established,related return",
		"ip saddr @portscan-ignore-v4 return",
		"ip6 saddr @portscan-ignore-v6 return",
		"meta l4proto != tcp meta l4proto != udp return",
		"tcp flags rst,ack return",
		"tcp dport 22 return",
		"udp dport 5353 return",
		"tcp dport 8000-8010 return",
		`limit rate 500/second burst 500 packets counter packets 0 bytes 0 log prefix "rampart-portscan" group 4760 snaplen 128`,
		"198.51.100.0/24", "203.0.113.7", "2001:db8:5::/48",
		"update @portscan-rate-v4 { ip saddr limit rate over 40/second burst 40 packets } return",
		"update @portscan-rate-v6 { ip6 saddr limit rate over 40/second burst 40 packets } return",
		"flags dynamic,timeout", "timeout 1m", "size 65536",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "accept") && strings.Count(out, "accept") != 1 { // the policy only
		t.Errorf("the chain accepts something:\n%s", out)
	}
	// nft's JSON view agrees on the hook and priority.
	js := p.srv.MustExec(t, "nft", "-j", "list", "chain", "inet", "rampart", "portscan")
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range doc.Nftables {
		if raw, ok := o["chain"]; ok {
			var ch struct {
				Hook string `json:"hook"`
				Prio int    `json:"prio"`
			}
			_ = json.Unmarshal(raw, &ch)
			found = ch.Hook == "input" && ch.Prio == -5
		}
	}
	if !found {
		t.Errorf("nft -j: chain not hooked at input, priority -5:\n%s", js)
	}
	st, err := k.Read()
	if err != nil || !st.Holds(testRules) {
		t.Fatalf("Read = %+v, %v; want it to hold the rules", st, err)
	}
	// Another port list is noticed, and applying it replaces the rules.
	other := testRules
	other.Open = other.Open[:1]
	if st.Holds(other) {
		t.Error("the state holds rules it was not given")
	}
	if err := k.Apply(other); err != nil {
		t.Fatal(err)
	}
	out = p.srv.MustExec(t, "nft", "list", "chain", "inet", "rampart", "portscan")
	if strings.Contains(out, "5353") || strings.Count(out, "log prefix") != 1 {
		t.Errorf("after a second apply:\n%s", out)
	}
	if err := k.Remove(); err != nil {
		t.Fatal(err)
	}
	if st, err := k.Read(); err != nil || st.Chain || st.Sets {
		t.Errorf("after Remove: %+v, %v", st, err)
	}
	if out := p.srv.MustExec(t, "nft", "list", "table", "inet", "rampart"); strings.Contains(out, "portscan") {
		t.Errorf("after Remove, the table still holds the layer's objects:\n%s", out)
	}
	if err := k.Remove(); err != nil {
		t.Errorf("a second Remove: %v", err)
	}
}

// collect runs a Source in the server namespace and gathers its findings.
type collect struct {
	mu sync.Mutex
	fs []finding.Finding
}

func (c *collect) keys(a netip.Addr) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, f := range c.fs {
		if f.Addr == a {
			out[f.Key] = true
		}
	}
	return out
}

func startSource(t *testing.T, ns *netns.NS, group uint16) *collect {
	t.Helper()
	c := &collect{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	src := &portscan.Source{Group: group, NetNS: ns.Fd()}
	go func() {
		done <- src.Run(ctx, func(f finding.Finding) {
			c.mu.Lock()
			c.fs = append(c.fs, f)
			c.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("source: %v", err)
		}
	})
	time.Sleep(200 * time.Millisecond) // bound before the first packet
	return c
}

// TestLoggedProbes sends SYN, FIN, NULL, XMAS and UDP probes (hping3) and
// a connection to an open port, and checks which become findings.
func TestLoggedProbes(t *testing.T) {
	p := newPair(t)
	if _, err := exec.LookPath("hping3"); err != nil {
		t.Skip("skipping: hping3 is not installed (apt-get install hping3; scripts/deps.sh)")
	}
	if err := (portscan.Kernel{NetNS: p.srv.Fd()}).Apply(testRules); err != nil {
		t.Fatal(err)
	}
	c := startSource(t, p.srv, testRules.Group)
	// A listener on an open port, reached by a full connection: its
	// packets are not logged (the SYN is in Open, the rest established).
	var ln net.Listener
	if err := p.srv.Do(func() (err error) { ln, err = net.Listen("tcp", ":22"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	p.cli.MustExec(t, "socat", "-u", "OPEN:/dev/null", "TCP4:192.0.2.1:22")
	probes := map[string][]string{
		"tcp/1001": {"-S"}, "tcp/1002": {"-F"}, "tcp/1003": {}, "tcp/1004": {"-F", "-P", "-U"}, "udp/1005": {"--udp"},
	}
	for key, flags := range probes {
		port := strings.TrimPrefix(strings.TrimPrefix(key, "tcp/"), "udp/")
		args := append([]string{"hping3", "-q", "-c", "1", "-p", port}, flags...)
		_, _ = p.cli.Exec(context.Background(), append(args, "192.0.2.1")...) // hping3 exits 1 without replies
	}
	// ACK and RST packets are not probes (late packets of connections
	// conntrack forgot): never logged.
	for port, flags := range map[string][]string{"1007": {"-A"}, "1008": {"-R"}, "1009": {"-S", "-A"}} {
		_, _ = p.cli.Exec(context.Background(), append(append([]string{"hping3", "-q", "-c", "1", "-p", port}, flags...), "192.0.2.1")...)
	}
	// IPv6: a connection attempt to a closed port.
	_, _ = p.cli.Exec(context.Background(), "socat", "-u", "OPEN:/dev/null", "TCP6:[2001:db8::1]:1006,connect-timeout=1")
	cli4, cli6 := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (len(c.keys(cli4)) < len(probes) || len(c.keys(cli6)) < 1) {
		time.Sleep(50 * time.Millisecond)
	}
	got := c.keys(cli4)
	for key := range probes {
		if !got[key] {
			t.Errorf("probe %s %v was not logged; findings: %v", key, probes[key], got)
		}
	}
	if got["tcp/22"] {
		t.Error("the connection to the open port 22 was logged")
	}
	for _, k := range []string{"tcp/1007", "tcp/1008", "tcp/1009"} {
		if got[k] {
			t.Errorf("%s (ACK or RST) was logged as a probe", k)
		}
	}
	if !c.keys(cli6)["tcp/1006"] {
		t.Errorf("the IPv6 probe was not logged: %v", c.keys(cli6))
	}
	c.mu.Lock()
	for _, f := range c.fs {
		if f.Rule != portscan.Rule || f.Evidence == "" || f.Time.IsZero() {
			t.Errorf("finding %+v", f)
		}
	}
	c.mu.Unlock()
}

// TestIgnoredSourceNotLogged checks the ignore set in the kernel.
func TestIgnoredSourceNotLogged(t *testing.T) {
	p := newPair(t)
	if _, err := exec.LookPath("hping3"); err != nil {
		t.Skip("skipping: hping3 is not installed (apt-get install hping3; scripts/deps.sh)")
	}
	r := testRules
	r.Ignore = append(r.Ignore, netip.MustParsePrefix("192.0.2.2/32"))
	if err := (portscan.Kernel{NetNS: p.srv.Fd()}).Apply(r); err != nil {
		t.Fatal(err)
	}
	c := startSource(t, p.srv, r.Group)
	for port := 2000; port < 2010; port++ {
		_, _ = p.cli.Exec(context.Background(), "hping3", "-q", "-c", "1", "-S", "-p", fmt.Sprint(port), "192.0.2.1")
	}
	time.Sleep(time.Second)
	if k := c.keys(netip.MustParseAddr("192.0.2.2")); len(k) != 0 {
		t.Errorf("an ignored source was logged: %v", k)
	}
}

// TestFloodDoesNotBlind: one source flooding a closed port spends its own
// budget, not the global one: a scanner probing at the same time is still
// logged port by port.
func TestFloodDoesNotBlind(t *testing.T) {
	p := newPair(t)
	if _, err := exec.LookPath("hping3"); err != nil {
		t.Skip("skipping: hping3 is not installed (apt-get install hping3; scripts/deps.sh)")
	}
	p.cli.MustExec(t, "ip", "addr", "add", "192.0.2.3/24", "dev", "eth0")
	if err := (portscan.Kernel{NetNS: p.srv.Fd()}).Apply(testRules); err != nil {
		t.Fatal(err)
	}
	c := startSource(t, p.srv, testRules.Group)
	flood := p.cli.Command(context.Background(), "hping3", "-q", "-S", "-p", "3000", "-i", "u50", "-c", "20000", "192.0.2.1")
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flood.Process.Kill(); _ = flood.Wait() })
	time.Sleep(300 * time.Millisecond) // the flood has spent the global burst by now
	for port := 4000; port < 4020; port++ {
		_, _ = p.cli.Exec(context.Background(), "hping3", "-q", "-c", "1", "-S", "-a", "192.0.2.3", "-p", fmt.Sprint(port), "192.0.2.1")
	}
	scanner := netip.MustParseAddr("192.0.2.3")
	waitUntil := time.Now().Add(3 * time.Second)
	for time.Now().Before(waitUntil) && len(c.keys(scanner)) < 20 {
		time.Sleep(50 * time.Millisecond)
	}
	if got := c.keys(scanner); len(got) < 20 {
		t.Errorf("during another source's flood, %d of the scanner's 20 probes were logged: %v", len(got), got)
	}
	c.mu.Lock()
	flooded := 0
	for _, f := range c.fs {
		if f.Addr == netip.MustParseAddr("192.0.2.2") {
			flooded++
		}
	}
	c.mu.Unlock()
	if flooded > 200 {
		t.Errorf("the flooding source had %d packets logged; its budget is %d/s", flooded, testRules.PerSource)
	}
}

// TestGroupHeld: while another reader holds the group, Run says so and
// retries; it reads once the group is free.
func TestGroupHeld(t *testing.T) {
	p := newPair(t)
	if _, err := exec.LookPath("hping3"); err != nil {
		t.Skip("skipping: hping3 is not installed (apt-get install hping3; scripts/deps.sh)")
	}
	if err := (portscan.Kernel{NetNS: p.srv.Fd()}).Apply(testRules); err != nil {
		t.Fatal(err)
	}
	holderCtx, release := context.WithCancel(context.Background())
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- (&portscan.Source{Group: testRules.Group, NetNS: p.srv.Fd()}).Run(holderCtx, func(finding.Finding) {})
	}()
	time.Sleep(300 * time.Millisecond)
	errs := make(chan error, 10)
	c := &collect{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		src := &portscan.Source{Group: testRules.Group, NetNS: p.srv.Fd(), OnError: func(err error) { errs <- err }}
		done <- src.Run(ctx, func(f finding.Finding) { c.mu.Lock(); c.fs = append(c.fs, f); c.mu.Unlock() })
	}()
	defer func() { cancel(); <-done }()
	select {
	case err := <-errs:
		t.Logf("while held: %v", err)
	case <-time.After(3 * time.Second):
		release()
		<-holderDone
		t.Fatal("a second reader of a held group reported no error")
	}
	release()
	if err := <-holderDone; err != nil {
		t.Fatalf("holder: %v", err)
	}
	deadline := time.Now().Add(portscan.RetryEvery + 5*time.Second)
	for time.Now().Before(deadline) && len(c.keys(netip.MustParseAddr("192.0.2.2"))) == 0 {
		_, _ = p.cli.Exec(context.Background(), "hping3", "-q", "-c", "1", "-S", "-p", "4444", "192.0.2.1")
		time.Sleep(200 * time.Millisecond)
	}
	if len(c.keys(netip.MustParseAddr("192.0.2.2"))) == 0 {
		t.Error("after the group was released, the retrying reader read nothing")
	}
}
