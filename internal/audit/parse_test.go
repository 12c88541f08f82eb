package audit

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSSHDConfig(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(root, p)
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must(t, os.WriteFile(full, []byte(s), 0o644))
	}
	write("etc/ssh/sshd_config", `# comment
Include sshd_config.d/*.conf
PasswordAuthentication yes
Port 22
Port=2222
LoginGraceTime 1m30s
MACs -hmac-sha1*,umac-64*
ChallengeResponseAuthentication no
AllowUsers alice
AllowUsers bob
Match User backup
	PasswordAuthentication yes
	PermitRootLogin yes
`)
	write("etc/ssh/sshd_config.d/10-a.conf", "PasswordAuthentication no\n")
	write("etc/ssh/sshd_config.d/20-b.conf", "PasswordAuthentication yes\nPermitRootLogin no\n")
	e := Offline(root, Config{}, fixtureNow)
	got, err := e.parseSSHDConfig("/etc/ssh/sshd_config", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"passwordauthentication":       {"no"}, // the first value wins, includes in place
		"permitrootlogin":              {"no"}, // the Match block does not apply globally
		"port":                         {"22", "2222"},
		"logingracetime":               {"90"},
		"macs":                         {"umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512"},
		"kbdinteractiveauthentication": {"no"},
		"allowusers":                   {"alice", "bob"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseSSHDConfig (-want +got):\n%s", d)
	}
}

func TestParseSSHDBytesRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Port 22\n\x00\x01", "line 2: binary data"},
		{"Port 22\nX \xff\xfe\n", "line 2: binary data"},
		{"Port 22\n{{ foo\n", `line 2: bad keyword "{{"`},
		{"9port 22\n", `line 1: bad keyword "9port"`},
	} {
		err := parseSSHDBytes("f", []byte(tc.in), map[string][]string{}, func(string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseSSHDBytes(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestSSHDIncludeLoop(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc/ssh"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), []byte("Include /etc/ssh/sshd_config\n"), 0o644))
	_, err := Offline(root, Config{}, fixtureNow).parseSSHDConfig("/etc/ssh/sshd_config", 0)
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("include loop: %v", err)
	}
}

func TestSSHDFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sshd: /usr/sbin/sshd -D -f /etc/ssh/alt.conf [listener] 0 of 10-100 startups"}, "/etc/ssh/alt.conf"},
		{[]string{"/usr/sbin/sshd", "-D", "-f", "/tmp/x"}, "/tmp/x"},
		{[]string{"/usr/sbin/sshd", "-f/tmp/y"}, "/tmp/y"},
		{[]string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}, ""},
	} {
		if got := sshdFlag(tc.args, "-f"); got != tc.want {
			t.Errorf("sshdFlag(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestSSHTime(t *testing.T) {
	for in, want := range map[string]int{"120": 120, "2m": 120, "1m30s": 90, "1h": 3600, "0": 0} {
		if got, err := sshTime(in); err != nil || got != want {
			t.Errorf("sshTime(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	if _, err := sshTime("5x"); err == nil {
		t.Error("sshTime(5x): no error")
	}
}

func TestParseNftJSON(t *testing.T) {
	rs, err := parseNftJSON([]byte(hardenedRuleset()))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Tables != 1 || len(rs.Chains) != 1 {
		t.Fatalf("tables %d chains %d", rs.Tables, len(rs.Chains))
	}
	c := rs.Chains[0]
	want := []nftRule{
		{Verdict: "accept", Matches: 1, IifLo: true},
		{Verdict: "accept", Matches: 1},
		{Verdict: "accept", Matches: 1, DPorts: []portRange{{"tcp", 22, 22}}},
		{Log: true},
	}
	if d := cmp.Diff(want, c.Rules); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	if !c.dropsByDefault() || len(rs.inputChains(4)) != 1 || len(rs.inputChains(6)) != 1 {
		t.Errorf("inet drop chain not seen for both IP versions")
	}
	set := `{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[22,{"range":[1000,2000]}]}}}`
	rs, err = parseNftJSON([]byte(nftDoc(nftBase("ip6", "t", "c", "input", "accept"), nftRuleJ("ip6", "t", "c", set, exAccept), nftRuleJ("ip6", "t", "c", exDrop))))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]portRange{{"tcp", 22, 22}, {"tcp", 1000, 2000}}, rs.Chains[0].Rules[0].DPorts); d != "" {
		t.Errorf("ports (-want +got):\n%s", d)
	}
	if !rs.Chains[0].dropsByDefault() || len(rs.inputChains(4)) != 0 {
		t.Errorf("ip6 chain with a final drop: dropsByDefault %v, v4 chains %d", rs.Chains[0].dropsByDefault(), len(rs.inputChains(4)))
	}
	if _, err := parseNftJSON([]byte("Error: Operation not permitted")); err == nil {
		t.Error("parseNftJSON(text): no error")
	}
}

func TestParseProcNet(t *testing.T) {
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 31 1 0\n" +
		"   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 32 1 0\n" +
		"   2: 0100007F:0016 0100007F:A0B0 01 00000000:00000000 00:00000000 00000000     0        0 33 1 0\n"
	got, err := parseProcNet(tcp, "tcp", "0A")
	if err != nil {
		t.Fatal(err)
	}
	want := []Socket{
		{Proto: "tcp", Addr: netip.MustParseAddr("127.0.0.1"), Port: 3306, UID: 104, Inode: "31"},
		{Proto: "tcp", Addr: netip.MustParseAddr("0.0.0.0"), Port: 22, UID: 0, Inode: "32"},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("parseProcNet (-want +got):\n%s", d)
	}
	tcp6 := "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 40 1 0\n" +
		"   1: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 41 1 0\n"
	got, err = parseProcNet(tcp6, "tcp", "0A")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Addr != netip.IPv6Loopback() || got[1].Addr != netip.MustParseAddr("2001:db8::1") || got[1].Port != 443 {
		t.Errorf("tcp6: %v", got)
	}
	if _, err := parseProcNet("h\n 0: zz:0016 0:0 0A 0 0 0 0 0 0 0\n", "tcp", "0A"); err == nil {
		t.Error("bad address: no error")
	}
}

func TestParseAptConf(t *testing.T) {
	got := map[string][]string{}
	parseAptConf(`// comment
APT::Periodic::Update-Package-Lists "1";
APT::Periodic {
  Unattended-Upgrade "1"; # trailing
  Enable "1";
};
/* block
   comment */
Unattended-Upgrade::Origins-Pattern {
	"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
	"o=Debian";
};
Dir::Cache "var/cache/apt/";
#clear APT::Periodic::Enable
`, got)
	want := map[string][]string{
		"apt::periodic::update-package-lists": {"1"},
		"apt::periodic::unattended-upgrade":   {"1"},
		"unattended-upgrade::origins-pattern": {"origin=Debian,codename=${distro_codename}-security,label=Debian-Security", "o=Debian"},
		"dir::cache":                          {"var/cache/apt/"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseAptConf (-want +got):\n%s", d)
	}
	dump := parseAptDump("APT::Periodic::Enable \"1\";\nUnattended-Upgrade::Allowed-Origins \"\";\nUnattended-Upgrade::Allowed-Origins:: \"${distro_id}:${distro_codename}-security\";\n")
	if d := cmp.Diff(map[string][]string{"apt::periodic::enable": {"1"}, "unattended-upgrade::allowed-origins": {"${distro_id}:${distro_codename}-security"}}, dump); d != "" {
		t.Errorf("parseAptDump (-want +got):\n%s", d)
	}
}

func TestCompareDebVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10", -1},
		{"2:1.0", "1:9.9", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0+b1", -1},
		{"6.1.0-28-amd64", "6.1.0-26-amd64", 1},
		{"1.2.13.dfsg-1", "1.2.13.dfsg-1+deb12u1", -1},
		{"0.17+2.4-2", "0.17-2", 1},
		{"1.0a", "1.0", 1},
	} {
		got := compareDebVersions(tc.a, tc.b)
		if sign(got) != tc.want {
			t.Errorf("compareDebVersions(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
		}
		if sign(compareDebVersions(tc.b, tc.a)) != -tc.want {
			t.Errorf("compareDebVersions(%q, %q) not antisymmetric", tc.b, tc.a)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte("owner = \"ops\"\nintended_ports = [\"22/tcp\", \"53/udp\", \"443\"]\n[backup]\nmarker = \"/m\"\nmax_age = \"26h\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner != "ops" || c.Backup.MaxAge.Hours() != 26 || len(c.IntendedPorts) != 3 {
		t.Errorf("config = %+v", c)
	}
	for _, tc := range []struct{ in, want string }{
		{"owner = \"x\"\nownr = \"y\"\n", `line 2: unknown key "ownr"`},
		{"[backup]\nmarker = \"/m\"\n\nmarkr = \"/n\"\n", `line 4: unknown key "backup.markr"`},
		{"[bakup]\nmarker = \"/m\"\n", `unknown key "bakup`},
		{"owner = \n", "line 1"},
		{"[backup]\nmax_age = \"3 days\"\n", `duration "3 days"`},
		{"intended_ports = [\"http\"]\n", `port "http"`},
		{"intended_ports = [\"22/sctp\"]\n", "protocol must be tcp or udp"},
		{"[backup]\ncommand = []\n", "empty command"},
	} {
		_, err := ParseConfig([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestResolveStaysInRoot(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/target"), []byte("inside"), 0o644))
	must(t, os.Symlink("/etc/target", filepath.Join(root, "etc/abs")))
	must(t, os.Symlink("../../../../../etc/target", filepath.Join(root, "etc/rel")))
	e := Offline(root, Config{}, fixtureNow)
	for _, p := range []string{"/etc/abs", "/etc/rel", "/../../etc/target"} {
		b, err := e.ReadFile(p)
		if err != nil || string(b) != "inside" {
			t.Errorf("ReadFile(%s) = %q, %v, want the file inside the root", p, b, err)
		}
	}
}

func TestParseIptablesS(t *testing.T) {
	c := parseIptablesS("-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -j LOG --log-prefix x\n-A INPUT -j DROP\n", "ip")
	want := &nftChain{Family: "ip", Table: "filter (iptables-legacy)", Name: "INPUT", Type: "filter", Hook: "input", Policy: "accept", Rules: []nftRule{
		{Verdict: "accept", Matches: 1, IifLo: true},
		{Verdict: "accept", Matches: 3},
		{Log: true, Matches: 1},
		{Verdict: "drop"},
	}}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("parseIptablesS (-want +got):\n%s", d)
	}
	if !c.dropsByDefault() {
		t.Error("final -j DROP not seen as a default drop")
	}
	if parseIptablesS("garbage", "ip") != nil {
		t.Error("garbage parsed as a chain")
	}
}
