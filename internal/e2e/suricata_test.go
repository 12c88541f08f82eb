package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// TestSuricataAlerts runs the real Suricata (Debian's package) in the
// server namespace on its veth, with a rule file the test writes; an
// attacker's traffic (curl to a probed port, with a scanner's user agent)
// makes alerts in eve.json, and a rampart jail with filter = "suricata"
// bans the attacker from them: severity 1 on one alert. A client whose
// traffic matches no rule is not banned.
func TestSuricataAlerts(t *testing.T) {
	suricata, err := exec.LookPath("suricata")
	if err != nil {
		t.Skip("skipping: suricata is not installed (Debian bookworm-backports package suricata; scripts/deps.sh installs it)")
	}
	netns.SkipUnlessRoot(t)
	srv, atk := netns.New(t, "suri"), netns.New(t, "suriatk")
	srvAddr, atkAddr, okAddr := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("203.0.113.77")
	srvIf, _ := netns.Link(t, srv, atk, []netip.Prefix{netip.PrefixFrom(srvAddr, 24)},
		[]netip.Prefix{netip.PrefixFrom(atkAddr, 24), netip.PrefixFrom(okAddr, 24)})
	dir := t.TempDir()
	rules := filepath.Join(dir, "rampart-test.rules")
	if err := os.WriteFile(rules, []byte(
		`alert tcp any any -> any 4444 (msg:"rampart test: probe of the backdoor port 4444"; flags:S; sid:9000001; rev:1; priority:1;)`+"\n"+
			`alert tcp any any -> any 5555 (msg:"rampart test: low-severity probe of 5555"; flags:S; sid:9000003; rev:1; priority:3;)`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	eve := filepath.Join(logDir, "eve.json")
	if err := os.WriteFile(eve, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The packaged configuration, with only this rule file, logging into
	// logDir, reading the veth with af-packet; checksums off (veth offload).
	p := startProc(t, "suricata", srv.Command(context.Background(), suricata, "-c", "/etc/suricata/suricata.yaml",
		"-S", rules, "-l", logDir, "--af-packet="+srvIf, "-k", "none", "--pidfile", filepath.Join(dir, "suricata.pid"),
		"--set", "af-packet.0.interface="+srvIf, "--set", "outputs.1.eve-log.filename="+eve))
	if !waitFor(60*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(logDir, "suricata.log"))
		return strings.Contains(string(b), "started") || p.exited()
	}) || p.exited() {
		b, _ := os.ReadFile(filepath.Join(logDir, "suricata.log"))
		t.Fatalf("suricata did not start within 60 s:\n%s\n%s", indent(p.out.String()), indent(string(b)))
	}

	cfgText := fmt.Sprintf(`[daemon]
state_dir = %q
socket = %q
firewall = "nftables"

[jails.sshd]
enabled = false

[jails.ids]
enabled = true
filter = "suricata"
logpath = [%q]
maxretry = 3
suricata_single_hit = 1
bantime = "1h"
`, filepath.Join(dir, "state"), filepath.Join(dir, "rampart.sock"), eve)
	cfgPath := filepath.Join(dir, "rampart.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, t, srv, filepath.Join(dir, "rampart.sock"), "--config", cfgPath)
	probe := func(src netip.Addr, port int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		atk.Exec(ctx, "curl", "-s", "--max-time", "1", "--interface", src.String(), fmt.Sprintf("http://%s:%d/", srvAddr, port))
	}
	probe(okAddr, 5555) // one low-severity alert: counts, does not ban
	probe(atkAddr, 4444)
	if !waitFor(20*time.Second, func() bool { _, ok := d.banned(t)[single(atkAddr)]; return ok }) {
		b, _ := os.ReadFile(eve)
		t.Fatalf("%s not banned within 20 s of its probe; eve.json:\n%s", atkAddr, indent(string(b)))
	}
	time.Sleep(time.Second)
	if _, ok := d.banned(t)[single(okAddr)]; ok {
		t.Errorf("%s was banned for one low-severity alert (maxretry 3)", okAddr)
	}
	out, _ := d.cli("why", atkAddr.String())
	if !strings.Contains(out, "suricata:9000001") || !strings.Contains(out, "backdoor port 4444") {
		t.Errorf("rampart why %s does not name the alert:\n%s", atkAddr, out)
	}
}
