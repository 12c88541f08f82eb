package audit

import (
	"io/fs"
	"strings"
	"testing"
	"time"
)

// hardenedExceptions are the checks that do not pass on the unmodified
// hardened tree, and why.
var hardenedExceptions = map[string]Status{
	"firewall.ufw-ipv6": Skip, // nftables, not ufw, manages the firewall
}

// ufwTree swaps nftables.service for an enabled ufw.
var ufwTree = map[string]string{
	"etc/systemd/system/multi-user.target.wants/nftables.service": "@del",
	"etc/ufw/ufw.conf":  "ENABLED=yes\nLOGLEVEL=low\n",
	"etc/default/ufw":   "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n",
	"etc/cron.daily/.x": "",
}

func withFiles(base map[string]string, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

const rsyslogNoAuth = "module(load=\"imuxsock\")\n*.*;auth,authpriv.none -/var/log/syslog\n"

// fixtureCases are the changes to the hardened tree that make a check pass
// or fail. A case whose want is Pass shows the check passing where the
// hardened tree alone does not exercise it.
var fixtureCases = []struct {
	id   string
	want Status
	fx   fixture
}{
	// firewall
	{"firewall.input-chain", Fail, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc()}}},
	{"firewall.input-chain", Skip, fixture{cmds: map[string]string{"nft -j list ruleset": "@err:Error: Operation not permitted"}}},
	{"firewall.default-drop", Fail, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("inet", "filter"), nftBase("inet", "filter", "input", "input", "accept"))}}},
	{"firewall.default-drop", Pass, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("ip", "f"), nftBase("ip", "f", "in", "input", "accept"), nftRuleJ("ip", "f", "in", exTCP22, exAccept), nftRuleJ("ip", "f", "in", exDrop))}}},
	{"firewall.default-drop", Pass, fixture{ // iptables-legacy, invisible to nft
		cmds: map[string]string{
			"nft -j list ruleset":       nftDoc(),
			"iptables-legacy -S INPUT":  "-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n",
			"ip6tables-legacy -S INPUT": "-P INPUT ACCEPT\n",
		},
		files: map[string]string{"proc/net/ip_tables_names": "filter\n", "proc/net/ip6_tables_names": "filter\n"},
	}},
	{"firewall.ipv6", Fail, fixture{ // iptables-legacy without ip6tables rules
		cmds: map[string]string{
			"nft -j list ruleset":       nftDoc(),
			"iptables-legacy -S INPUT":  "-P INPUT DROP\n",
			"ip6tables-legacy -S INPUT": "-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n",
		},
		files: map[string]string{"proc/net/ip_tables_names": "filter\n", "proc/net/ip6_tables_names": "filter\n"},
	}},
	{"firewall.ipv6", Fail, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("ip", "f"), nftBase("ip", "f", "in", "input", "drop"))}}},
	{"firewall.ipv6", Pass, fixture{
		cmds:  map[string]string{"nft -j list ruleset": nftDoc(nftTable("ip", "f"), nftBase("ip", "f", "in", "input", "drop"))},
		files: map[string]string{"proc/sys/net/ipv6/conf/all/disable_ipv6": "1\n"},
	}},
	{"firewall.loopback", Fail, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("inet", "filter"), nftBase("inet", "filter", "input", "input", "drop"), nftRuleJ("inet", "filter", "input", exTCP22, exAccept))}}},
	{"firewall.rampart-baseline", Fail, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("inet", "filter"), nftBase("inet", "filter", "input", "input", "accept"))}}},
	{"firewall.rampart-baseline", Pass, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("inet", "rampart"), nftBase("inet", "rampart", "policy-input", "input", "drop"), nftRuleJ("inet", "rampart", "policy-input", exTCP22, exAccept))}}},
	{"firewall.rampart-baseline", Warn, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("inet", "rampart"), nftBase("inet", "rampart", "policy-input", "input", "drop"), nftRuleJ("inet", "rampart", "policy-input", exTCP22, exAccept), nftTable("inet", "filter"), nftBase("inet", "filter", "input", "input", "drop"))}}},
	{"firewall.logging", Fail, fixture{cmds: map[string]string{"nft -j list ruleset": nftDoc(nftTable("inet", "filter"), nftBase("inet", "filter", "input", "input", "drop"), nftRuleJ("inet", "filter", "input", exIifLo, exAccept))}}},
	{"firewall.listening-intended", Fail, fixture{files: map[string]string{"proc/net/udp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 2001 2 0\n"}}},
	{"firewall.listening-intended", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "owner = \"x\"\n"}}},
	{"firewall.single-manager", Fail, fixture{files: map[string]string{"etc/ufw/ufw.conf": "ENABLED=yes\n"}}},
	{"firewall.boot", Fail, fixture{files: map[string]string{"etc/nftables.conf": "table inet filter {\n chain input { type filter hook input priority filter; policy accept; }\n}\n"}}},
	{"firewall.boot", Fail, fixture{files: map[string]string{"etc/systemd/system/multi-user.target.wants/nftables.service": "@del"}}},
	{"firewall.boot", Pass, fixture{files: ufwTree}},
	{"firewall.boot", Pass, fixture{files: map[string]string{
		"etc/systemd/system/multi-user.target.wants/nftables.service": "@del",
		"etc/systemd/system/multi-user.target.wants/rampart.service":  "",
		"etc/rampart/rampart.d/10-baseline.toml":                      "[baseline]\nenabled = true\nallow = [\"22/tcp\"]\n",
	}}},
	{"firewall.ip-forward", Fail, fixture{files: map[string]string{"proc/sys/net/ipv4/ip_forward": "1\n"}}},
	{"firewall.ufw-ipv6", Pass, fixture{files: ufwTree}},
	{"firewall.ufw-ipv6", Fail, fixture{files: withFiles(ufwTree, map[string]string{"etc/default/ufw": "IPV6=no\nDEFAULT_INPUT_POLICY=\"DROP\"\n"})}},

	// ssh
	{"ssh.password-auth", Fail, fixture{probePassword: true}},
	{"ssh.password-auth", Fail, fixture{ // no running sshd: the configuration decides
		files: map[string]string{"proc/100": "@del", "proc/101": "@del", "proc/net/tcp": "header\n"},
		sshd:  map[string]string{"passwordauthentication": "yes"},
	}},
	{"ssh.password-auth", Fail, fixture{ // socket-activated: no listener process, the probe still runs
		files:         map[string]string{"proc/100": "@del", "proc/101": "@del"},
		probePassword: true,
	}},
	{"ssh.kbd-interactive", Fail, fixture{sshd: map[string]string{"kbdinteractiveauthentication": "yes"}}},
	{"ssh.root-login", Fail, fixture{sshd: map[string]string{"permitrootlogin": "yes"}}},
	{"ssh.root-login", Warn, fixture{sshd: map[string]string{"permitrootlogin": "prohibit-password"}}},
	{"ssh.empty-passwords", Fail, fixture{sshd: map[string]string{"permitemptypasswords": "yes"}}},
	{"ssh.max-auth-tries", Fail, fixture{sshd: map[string]string{"maxauthtries": "6"}}},
	{"ssh.login-grace-time", Fail, fixture{sshd: map[string]string{"logingracetime": "120"}}},
	{"ssh.allow-users", Fail, fixture{sshd: map[string]string{"allowgroups": ""}}},
	{"ssh.forwarding", Fail, fixture{sshd: map[string]string{"disableforwarding": "no"}}},
	{"ssh.x11-forwarding", Fail, fixture{sshd: map[string]string{"x11forwarding": "yes"}}},
	{"ssh.weak-ciphers", Fail, fixture{sshd: map[string]string{"ciphers": "aes128-ctr,aes256-cbc,3des-cbc"}}},
	{"ssh.weak-macs", Fail, fixture{sshd: map[string]string{"macs": "hmac-sha2-256,hmac-sha1,umac-64@openssh.com"}}},
	{"ssh.weak-kex", Fail, fixture{sshd: map[string]string{"kexalgorithms": "curve25519-sha256,diffie-hellman-group14-sha1"}}},
	{"ssh.log-level", Fail, fixture{sshd: map[string]string{"loglevel": "QUIET"}}},
	{"ssh.client-alive", Fail, fixture{sshd: map[string]string{"clientaliveinterval": "0"}}},
	{"ssh.max-sessions", Fail, fixture{sshd: map[string]string{"maxsessions": "64"}}},
	{"ssh.host-based", Fail, fixture{sshd: map[string]string{"hostbasedauthentication": "yes"}}},
	{"ssh.user-environment", Fail, fixture{sshd: map[string]string{"permituserenvironment": "yes"}}},
	{"ssh.config-mode", Fail, fixture{modes: map[string]fs.FileMode{"etc/ssh/sshd_config": 0o666}}},
	{"ssh.host-keys", Fail, fixture{modes: map[string]fs.FileMode{"etc/ssh/ssh_host_ed25519_key": 0o644}}},

	// brute force
	{"bruteforce.engine", Fail, fixture{env: func(e *Env) { e.RampartSocket = e.Root + "/run/rampart/none.sock" }}},
	{"bruteforce.engine", Pass, fixture{ // Fail2ban instead of rampart
		files: map[string]string{"run/fail2ban/fail2ban.sock": ""},
		cmds: map[string]string{
			"fail2ban-client -s @F2B ping":   "Server replied: pong\n",
			"fail2ban-client -s @F2B status": "Status\n|- Number of jail:\t1\n`- Jail list:\tsshd\n",
		},
		env: func(e *Env) { e.RampartSocket = "" },
	}},
	{"bruteforce.sshd-jail", Fail, fixture{env: func(e *Env) {
		e.RampartSocket = "@status:" + `{"jails":[{"name":"nginx-http-auth","filter":"nginx-http-auth","sources":["/var/log/nginx/error.log"]}]}`
	}}},
	{"bruteforce.sshd-jail", Fail, fixture{env: func(e *Env) { e.RampartSocket = "" }}},
	{"bruteforce.sshd-jail", Pass, fixture{
		files: map[string]string{"run/fail2ban/fail2ban.sock": ""},
		cmds: map[string]string{
			"fail2ban-client -s @F2B ping":   "Server replied: pong\n",
			"fail2ban-client -s @F2B status": "Status\n|- Number of jail:\t2\n`- Jail list:\tnginx-http-auth, sshd\n",
		},
		env: func(e *Env) { e.RampartSocket = "" },
	}},
	{"bruteforce.sshd-log", Fail, fixture{files: map[string]string{"etc/rsyslog.conf": rsyslogNoAuth}}},
	{"bruteforce.sshd-log", Fail, fixture{files: map[string]string{"proc/200": "@del"}}},
	{"bruteforce.jail-local", Fail, fixture{files: map[string]string{"etc/fail2ban/jail.conf": "[sshd]\nenabled = true\nmaxretry = 2\n"}}},
	{"bruteforce.pam-faillock", Fail, fixture{files: map[string]string{"etc/pam.d/common-auth": "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"}}},
	{"bruteforce.pam-faillock", Fail, fixture{files: map[string]string{"etc/security/faillock.conf": "deny = 20\n"}}},

	// ids
	{"ids.fim-installed", Fail, fixture{files: map[string]string{"var/lib/dpkg/status": "Package: aide\nStatus: deinstall ok config-files\nVersion: 0.18.3-1\n"}}},
	{"ids.fim-baseline", Fail, fixture{files: map[string]string{"var/lib/aide/aide.db": "@del"}}},
	{"ids.fim-baseline", Fail, fixture{files: map[string]string{"var/lib/aide/aide.db": ""}}},
	{"ids.fim-scheduled", Fail, fixture{files: map[string]string{"etc/systemd/system/timers.target.wants/dailyaidecheck.timer": "@del"}}},
	{"ids.hids-running", Fail, fixture{files: map[string]string{"proc/300": "@del"}}},
	{"ids.rootkit-scanner", Fail, fixture{files: map[string]string{"var/lib/dpkg/status": "Package: aide\nStatus: install ok installed\nVersion: 0.18.3-1\n"}}},
	{"ids.package-integrity", Pass, fixture{files: map[string]string{ // a diverted file is checked at its new place
		"usr/bin/ls":              "#!/bin/sh\n# the diverting package's ls\n",
		"usr/bin/ls.coreutils":    "#!/bin/sh\n# stand-in for /usr/bin/ls\n",
		"var/lib/dpkg/diversions": "/usr/bin/ls\n/usr/bin/ls.coreutils\nfancy-ls\n",
	}}},
	{"ids.package-integrity", Fail, fixture{files: map[string]string{"usr/bin/ls": "#!/bin/sh\n# trojaned\n"}}},

	// auditd
	{"auditd.running", Fail, fixture{files: map[string]string{"proc/400": "@del"}}},
	{"auditd.rules-loaded", Fail, fixture{cmds: map[string]string{"auditctl -l": "No rules\n"}}},
	{"auditd.rules-loaded", Fail, fixture{files: map[string]string{"etc/audit": "@del"}}},
	{"auditd.rules-loaded", Pass, fixture{env: func(e *Env) { e.Privileged = false }}}, // persistent rules
	{"auditd.identity-watch", Fail, fixture{cmds: map[string]string{"auditctl -l": "-w /etc/passwd -p wa -k identity\n-w /etc/shadow -p r -k identity\n"}}},
	{"auditd.sudoers-watch", Fail, fixture{cmds: map[string]string{"auditctl -l": "-w /etc/passwd -p wa -k identity\n"}}},
	{"auditd.sudoers-watch", Fail, fixture{ // loaded rules are what counts, not the files
		env:   func(e *Env) { e.Privileged = false },
		files: map[string]string{"etc/audit/rules.d/50-rampart.rules": "-w /etc/passwd -p wa\n"},
	}},
	{"auditd.sshd-watch", Fail, fixture{cmds: map[string]string{"auditctl -l": "-w /etc/passwd -p wa -k identity\n"}}},
	{"auditd.sshd-watch", Pass, fixture{cmds: map[string]string{"auditctl -l": "-w /etc/ssh -p wa -k sshd\n"}}},
	{"auditd.binaries-watch", Fail, fixture{cmds: map[string]string{"auditctl -l": "-w /usr/bin -p wa -k binaries\n"}}},
	{"auditd.binaries-watch", Pass, fixture{cmds: map[string]string{"auditctl -l": "-a always,exit -F arch=b64 -S all -F dir=/usr/bin -F perm=wa -k b\n-a always,exit -F arch=b64 -S all -F dir=/usr/sbin -F perm=wa -k b\n"}}},
	{"auditd.immutable", Fail, fixture{cmds: map[string]string{"auditctl -s": "enabled 1\n"}}},
	{"auditd.boot-param", Fail, fixture{files: map[string]string{"proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro quiet\n"}}},
	{"auditd.log-retention", Fail, fixture{files: map[string]string{"etc/audit/auditd.conf": "max_log_file_action = ROTATE\nspace_left_action = ignore\n"}}},

	// updates
	{"updates.unattended-installed", Fail, fixture{files: map[string]string{"var/lib/dpkg/status": "Package: aide\nStatus: install ok installed\nVersion: 1\n"}}},
	{"updates.periodic", Fail, fixture{cmds: map[string]string{"apt-config dump": "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"0\";\n"}}},
	{"updates.periodic", Pass, fixture{cmds: map[string]string{"apt-config dump": "@del"}}}, // parses apt.conf.d
	{"updates.periodic", Fail, fixture{
		cmds:  map[string]string{"apt-config dump": "@del"},
		files: map[string]string{"etc/apt/apt.conf.d/99off": "APT::Periodic { Enable \"0\"; };\n"},
	}},
	{"updates.security-origin", Fail, fixture{cmds: map[string]string{"apt-config dump": "Unattended-Upgrade::Origins-Pattern:: \"origin=Debian,codename=${distro_codename},label=Debian\";\n"}}},
	{"updates.security-origin", Pass, fixture{cmds: map[string]string{"apt-config dump": "@del"}}},
	{"updates.timers", Fail, fixture{files: map[string]string{"etc/systemd/system/apt-daily-upgrade.timer": "@link:/dev/null"}}},
	{"updates.last-run", Fail, fixture{ages: map[string]time.Duration{"var/lib/apt/periodic/unattended-upgrades-stamp": 30 * 24 * time.Hour}}},
	{"updates.last-run", Fail, fixture{files: map[string]string{"var/lib/apt/periodic/unattended-upgrades-stamp": "@del"}}},
	{"updates.lists-fresh", Fail, fixture{ages: map[string]time.Duration{
		"var/lib/apt/periodic/update-success-stamp":                                          40 * 24 * time.Hour,
		"var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_InRelease": 40 * 24 * time.Hour,
	}}},
	{"updates.pending-security", Fail, fixture{files: map[string]string{"var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages": "Package: openssh-server\nVersion: 1:9.2p1-2+deb12u10\n"}}},
	{"updates.pending-security", Fail, fixture{files: map[string]string{"var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages": "@del"}}},
	{"updates.kernel-current", Fail, fixture{files: map[string]string{"boot/vmlinuz-6.1.0-30-amd64": "k"}}},
	{"updates.reboot-required", Fail, fixture{files: map[string]string{"run/reboot-required": "*** System restart required ***\n", "run/reboot-required.pkgs": "linux-image-6.1.0-30-amd64\n"}}},

	// monitoring
	{"monitoring.log-daemon", Fail, fixture{files: map[string]string{"proc/200": "@del"}}},
	{"monitoring.auth-log", Fail, fixture{files: map[string]string{"etc/rsyslog.conf": rsyslogNoAuth, "etc/systemd/journald.conf": "[Journal]\nStorage=volatile\n"}}},
	{"monitoring.auth-log", Pass, fixture{files: map[string]string{"proc/200": "@del"}}}, // persistent journal
	{"monitoring.journald-persistent", Fail, fixture{files: map[string]string{"etc/systemd/journald.conf": "[Journal]\n#Storage=auto\n", "var/log/journal": "@del"}}},
	{"monitoring.journald-persistent", Pass, fixture{files: map[string]string{"etc/systemd/journald.conf": "[Journal]\n"}}},
	{"monitoring.remote-logging", Fail, fixture{files: map[string]string{"etc/rsyslog.conf": rsyslogNoAuth}}},
	{"monitoring.logrotate", Fail, fixture{files: map[string]string{"etc/systemd/system/timers.target.wants/logrotate.timer": "@del"}}},
	{"monitoring.time-sync", Fail, fixture{files: map[string]string{"proc/500": "@del"}}},
	{"monitoring.metrics-agent", Fail, fixture{files: map[string]string{"proc/600": "@del"}}},

	// users
	{"users.uid0", Fail, fixture{files: map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n"}}},
	{"users.shadowed", Fail, fixture{files: map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nbob::1001:1001::/home/bob:/bin/sh\n"}}},
	{"users.empty-passwords", Fail, fixture{files: map[string]string{"etc/shadow": "root:$y$x:19700:0:99999:7:::\nbob::19700:0:99999:7:::\n"}}},
	{"users.sudo-nopasswd", Fail, fixture{files: map[string]string{"etc/sudoers.d/deploy": "deploy ALL=(ALL) NOPASSWD: ALL\n"}}},
	{"users.sudo-nopasswd", Pass, fixture{files: map[string]string{"etc/sudoers.d/deploy.dpkg-old": "deploy ALL=(ALL) NOPASSWD: ALL\n"}}},
	{"users.passwd-mode", Fail, fixture{modes: map[string]fs.FileMode{"etc/passwd": 0o666}}},
	{"users.shadow-mode", Fail, fixture{modes: map[string]fs.FileMode{"etc/shadow": 0o644}}},
	{"users.sudoers-mode", Fail, fixture{modes: map[string]fs.FileMode{"etc/sudoers": 0o644}}},
	{"users.root-services", Warn, fixture{files: map[string]string{"proc/net/tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0\n   1: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1005 1 0\n"}}},
	{"users.admins", Fail, fixture{files: map[string]string{"etc/group": "root:x:0:\nsudo:x:27:alice,mallory\n"}}},
	{"users.admins", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "owner = \"x\"\n"}}},
	{"users.home-perms", Fail, fixture{modes: map[string]fs.FileMode{"home/alice": 0o777}}},
	{"users.login-defs", Fail, fixture{files: map[string]string{"etc/login.defs": "PASS_MAX_DAYS 99999\nENCRYPT_METHOD SHA512\n"}}},
	{"users.system-shells", Fail, fixture{files: map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/bash\npostgres:x:110:118::/var/lib/postgresql:/bin/bash\n"}}},

	// backups
	{"backups.declared", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "owner = \"x\"\n"}}},
	{"backups.declared", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "@del"}}},
	{"backups.recent", Fail, fixture{ages: map[string]time.Duration{"var/backups/.last-success": 72 * time.Hour}}},
	{"backups.recent", Fail, fixture{files: map[string]string{"var/backups/.last-success": "@del"}}},
	{"backups.recent", Pass, fixture{files: map[string]string{"etc/rampart/audit.toml": "[backup]\ncommand = [\"/usr/local/bin/backup-age\"]\nmax_age = \"26h\"\n"}, cmds: map[string]string{"/usr/local/bin/backup-age": "2026-01-15T06:00:00Z\n"}}},
	{"backups.recent", Fail, fixture{files: map[string]string{"etc/rampart/audit.toml": "[backup]\ncommand = [\"/usr/local/bin/backup-age\"]\n"}, cmds: map[string]string{"/usr/local/bin/backup-age": "@err:exit status 3"}}},
	{"backups.scheduled", Fail, fixture{files: map[string]string{"etc/systemd/system/borgmatic.timer": "@del", "etc/rampart/audit.toml": "owner = \"x\"\n"}}},
	{"backups.scheduled", Warn, fixture{files: map[string]string{"etc/systemd/system/borgmatic.timer": "@del"}}},
	{"backups.scheduled", Pass, fixture{files: map[string]string{"etc/systemd/system/borgmatic.timer": "@del", "etc/cron.d/nightly": "30 2 * * * root restic backup /srv\n"}}},
	{"backups.restore-tested", Fail, fixture{ages: map[string]time.Duration{"var/backups/.last-restore-test": 200 * 24 * time.Hour}}},
	{"backups.restore-tested", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "owner = \"x\"\n"}}},

	// documentation
	{"docs.incident-procedure", Fail, fixture{files: map[string]string{"etc/rampart/incident.md": "@del"}}},
	{"docs.incident-procedure", Fail, fixture{ages: map[string]time.Duration{"etc/rampart/incident.md": 400 * 24 * time.Hour}}},
	{"docs.incident-procedure", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "owner = \"x\"\n"}}},
	{"docs.owner", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "intended_ports = [\"22\"]\n"}}},
	{"docs.intended-ports", Warn, fixture{files: map[string]string{"etc/rampart/audit.toml": "owner = \"x\"\n"}}},
	{"docs.login-banner", Fail, fixture{files: map[string]string{"etc/issue": "Debian GNU/Linux 12 \\n \\l\n", "etc/issue.net": "@del"}}},
	{"docs.banner-no-os-info", Fail, fixture{files: map[string]string{"etc/issue": "Debian GNU/Linux 12 \\n \\l\n"}}},
}

func TestHardenedTreePasses(t *testing.T) {
	probes := startProbes(t)
	fe := buildFixture(t, fixture{}, probes)
	rep := Run(t.Context(), fe.env, Checks(), Options{Timeout: 10 * time.Second})
	for _, f := range rep.Checks {
		want := Pass
		if w, ok := hardenedExceptions[f.ID]; ok {
			want = w
		}
		if f.Status != want {
			t.Errorf("%s = %s, want %s: %s", f.ID, f.Status, want, f.Evidence)
		}
	}
	if rep.Score != 100 {
		t.Errorf("score = %d, want 100", rep.Score)
	}
}

func TestFixtures(t *testing.T) {
	probes := startProbes(t)
	for i, c := range fixtureCases {
		t.Run(c.id+"/"+string(c.want), func(t *testing.T) {
			t.Parallel()
			fx := c.fx
			fe := buildFixture(t, fx, probes)
			e := fe.env
			// Placeholders the table cannot know in advance.
			if r, ok := e.Exec.(fakeRunner); ok {
				for k, v := range r {
					if strings.Contains(k, "@F2B") {
						delete(r, k)
						r[strings.ReplaceAll(k, "@F2B", e.Fail2banSocket)] = v
					}
				}
			}
			if body, ok := strings.CutPrefix(e.RampartSocket, "@status:"); ok {
				e.RampartSocket = startStatusServer(t, body)
			}
			f := runCheck(t, e, c.id)
			if f.Status != c.want {
				t.Errorf("case %d: %s = %s, want %s: %s", i, c.id, f.Status, c.want, f.Evidence)
			}
			if (f.Status == Fail || f.Status == Warn) && f.Remediation == "" {
				t.Errorf("case %d: %s %s without a remediation", i, c.id, f.Status)
			}
		})
	}
}

// TestFixtureCoverage: every check has a tree where it passes and one where
// it fails (or, for checks about declared facts, warns).
func TestFixtureCoverage(t *testing.T) {
	passes, fails := map[string]bool{}, map[string]bool{}
	for _, c := range Checks() {
		if _, ok := hardenedExceptions[c.ID]; !ok {
			passes[c.ID] = true
		}
	}
	for _, c := range fixtureCases {
		if _, ok := Lookup(Checks(), c.id); !ok {
			t.Errorf("fixture case for unknown check %q", c.id)
		}
		switch c.want {
		case Pass:
			passes[c.id] = true
		case Fail, Warn:
			fails[c.id] = true
		}
	}
	for _, c := range Checks() {
		if !passes[c.ID] {
			t.Errorf("%s: no fixture where it passes", c.ID)
		}
		if !fails[c.ID] {
			t.Errorf("%s: no fixture where it fails", c.ID)
		}
	}
}
