package audit

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"
)

func idsChecks() []Check {
	return []Check{
		{
			ID: "ids.fim-installed", Area: AreaIDS, Severity: High,
			Title:       "A file integrity monitor is installed",
			Reads:       "/var/lib/dpkg/status: aide, tripwire, samhain, osquery, wazuh-agent",
			Why:         "Without file integrity monitoring a replaced binary or a planted key goes unnoticed.",
			Remediation: "apt-get install aide && aideinit && cp /var/lib/aide/aide.db.new /var/lib/aide/aide.db",
			Run: func(ctx context.Context, e *Env) Result {
				n, err := e.installedAny(ctx, fimPackages...)
				if err != nil {
					return e.readErr(err)
				}
				if n == "" {
					return fail("none of %s installed", strings.Join(fimPackages, ", "))
				}
				return pass("%s installed", n)
			},
		},
		{
			ID: "ids.fim-baseline", Area: AreaIDS, Severity: High,
			Title:       "The file integrity monitor has a baseline",
			Reads:       "/var/lib/aide/aide.db (non-empty, its age) or /var/lib/tripwire/*.twd",
			Why:         "An integrity checker without a baseline database compares against nothing.",
			Remediation: "aideinit -y -f   # then review and copy /var/lib/aide/aide.db.new to /var/lib/aide/aide.db",
			Run:         checkFIMBaseline,
		},
		{
			ID: "ids.fim-scheduled", Area: AreaIDS, Severity: Medium,
			Title:       "The integrity check runs on a schedule",
			Reads:       "dailyaidecheck.timer enabled or /etc/cron.daily/aide; tripwire's /etc/cron.daily/tripwire",
			Why:         "A baseline nobody compares against detects nothing.",
			Remediation: "systemctl enable --now dailyaidecheck.timer",
			Run:         checkFIMScheduled,
		},
		{
			ID: "ids.hids-running", Area: AreaIDS, Severity: Medium,
			Title:       "A host or network intrusion detection agent is running",
			Reads:       "/proc: wazuh, ossec, osqueryd, suricata, snort, samhain, rampart run; under --root their enabled units",
			Why:         "Detection in real time shortens the time between break-in and response.",
			Remediation: "install and start an agent, e.g. apt-get install suricata (network) or a Wazuh/osquery agent (host)",
			Run: func(ctx context.Context, e *Env) Result {
				up, ev, err := e.service(ctx,
					[]string{"wazuh-agentd", "wazuh-syscheckd", "ossec-agentd", "ossec-syscheckd", "osqueryd", "Suricata-Main", "suricata", "snort", "samhain"},
					[]string{"wazuh-agent.service", "osqueryd.service", "suricata.service", "snort.service", "samhain.service"})
				if err != nil {
					return errorf("%v", err)
				}
				if up {
					return pass("%s", ev)
				}
				return fail("no intrusion detection agent: %s", ev)
			},
		},
		{
			ID: "ids.rootkit-scanner", Area: AreaIDS, Severity: Low,
			Title:       "A rootkit or malware scanner is installed",
			Reads:       "/var/lib/dpkg/status: rkhunter, chkrootkit, clamav, unhide",
			Why:         "Scanners catch known rootkits and malware that other layers miss.",
			Remediation: "apt-get install rkhunter   # and enable its daily cron run in /etc/default/rkhunter",
			Run: func(ctx context.Context, e *Env) Result {
				names := []string{"rkhunter", "chkrootkit", "clamav", "unhide"}
				n, err := e.installedAny(ctx, names...)
				if err != nil {
					return e.readErr(err)
				}
				if n == "" {
					return fail("none of %s installed", strings.Join(names, ", "))
				}
				return pass("%s installed", n)
			},
		},
		{
			ID: "ids.package-integrity", Area: AreaIDS, Severity: Medium,
			Title:       "Packaged system binaries match their dpkg checksums",
			Reads:       "/var/lib/dpkg/info/*.md5sums entries under /usr/bin, /usr/sbin, /bin, /sbin (at their diverted place per /var/lib/dpkg/diversions), hashed with MD5, at most 512 MiB per run",
			Why:         "A binary that differs from its package was replaced outside the package manager: a trojan or a botched manual fix. Package upgrades update both file and checksum, so they do not show.",
			Remediation: "reinstall the owning package (dpkg -S PATH; apt-get install --reinstall PKG) and investigate how it changed",
			Run:         checkPackageIntegrity,
		},
	}
}

var fimPackages = []string{"aide", "tripwire", "samhain", "osquery", "wazuh-agent"}

func checkFIMBaseline(ctx context.Context, e *Env) Result {
	n, err := e.installedAny(ctx, fimPackages...)
	if err != nil {
		return e.readErr(err)
	}
	if n == "" {
		return fail("no file integrity monitor installed (see ids.fim-installed)")
	}
	if n != "aide" && n != "tripwire" {
		return pass("%s keeps its own baseline", n)
	}
	cands := []string{"/var/lib/aide/aide.db", "/var/lib/aide/aide.db.gz"}
	if n == "tripwire" {
		cands, _ = e.Glob("/var/lib/tripwire/*.twd")
	}
	for _, c := range cands {
		fi, err := e.Stat(c)
		if err != nil {
			if notExist(err) {
				continue
			}
			return e.readErr(err)
		}
		if fi.Size() == 0 {
			return fail("%s is empty", c)
		}
		return pass("%s, %d bytes, written %s ago", c, fi.Size(), age(e.Now.Sub(fi.ModTime())))
	}
	return fail("%s is installed but has no baseline database", n)
}

func checkFIMScheduled(ctx context.Context, e *Env) Result {
	n, err := e.installedAny(ctx, fimPackages...)
	if err != nil {
		return e.readErr(err)
	}
	switch n {
	case "":
		return fail("no file integrity monitor installed (see ids.fim-installed)")
	case "aide":
		if e.unitState("dailyaidecheck.timer") == "enabled" {
			return pass("dailyaidecheck.timer enabled")
		}
		if fi, err := e.Stat("/etc/cron.daily/aide"); err == nil && fi.Mode()&0o111 != 0 {
			return pass("/etc/cron.daily/aide")
		}
		return fail("neither dailyaidecheck.timer enabled nor /etc/cron.daily/aide")
	case "tripwire":
		if e.exists("/etc/cron.daily/tripwire") {
			return pass("/etc/cron.daily/tripwire")
		}
		return fail("no /etc/cron.daily/tripwire")
	}
	return pass("%s schedules its own scans", n)
}

// integrityDirs are the md5sums path prefixes the package check hashes.
var integrityDirs = []string{"usr/bin/", "usr/sbin/", "bin/", "sbin/"}

const integrityBudget = 512 << 20

func checkPackageIntegrity(ctx context.Context, e *Env) Result {
	lists, err := e.Glob("/var/lib/dpkg/info/*.md5sums")
	if err != nil {
		return e.readErr(err)
	}
	if len(lists) == 0 {
		return skip("no dpkg md5sums (not a Debian system?)")
	}
	div, err := e.diversions()
	if err != nil {
		return e.readErr(err)
	}
	var changed []string
	files, bytesRead := 0, int64(0)
	seen := map[string]bool{}
	for _, l := range lists {
		ls, err := e.lines(l)
		if err != nil {
			continue
		}
		pkgName := strings.SplitN(path.Base(strings.TrimSuffix(l, ".md5sums")), ":", 2)[0]
		for _, line := range ls {
			sum, p, ok := strings.Cut(line, "  ")
			if !ok || len(sum) != 32 {
				continue
			}
			// A diverted file of another package lives at the diversion target.
			if d, ok := div["/"+p]; ok && d.pkg != pkgName {
				p = strings.TrimPrefix(d.to, "/")
			}
			if seen[p] {
				continue
			}
			in := false
			for _, d := range integrityDirs {
				if strings.HasPrefix(p, d) && !strings.Contains(p[len(d):], "/") {
					in = true
				}
			}
			if !in {
				continue
			}
			seen[p] = true
			if ctx.Err() != nil {
				return errorf("stopped after %d files: %v", files, ctx.Err())
			}
			if bytesRead > integrityBudget {
				break
			}
			got, n, err := e.md5File(ctx, "/"+p)
			if err != nil {
				if ctx.Err() != nil {
					return errorf("stopped after %d files: %v", files, ctx.Err())
				}
				// Missing (usrmerge moved /bin/x to /usr/bin/x; dpkg still
				// lists /bin), unreadable or not a regular file: not ours to hash.
				continue
			}
			files++
			bytesRead += n
			if got != sum {
				changed = append(changed, "/"+p)
			}
		}
	}
	if len(changed) > 0 {
		if len(changed) > 10 {
			changed = append(changed[:10], fmt.Sprintf("and %d more", len(changed)-10))
		}
		return fail("%d of %d binaries differ from their package: %s", len(changed), files, strings.Join(changed, ", "))
	}
	if files == 0 {
		return skip("no packaged binaries found under /usr/bin or /usr/sbin")
	}
	return pass("%d packaged binaries (%d MiB) match dpkg's md5sums", files, bytesRead>>20)
}

// diversion is one dpkg-divert entry.
type diversion struct{ to, pkg string }

// diversions reads /var/lib/dpkg/diversions: triples of lines (path,
// diverted-to, package; ":" for a local diversion).
func (e *Env) diversions() (map[string]diversion, error) {
	ls, err := e.lines("/var/lib/dpkg/diversions")
	if err != nil {
		if notExist(err) {
			return nil, nil
		}
		return nil, err
	}
	out := map[string]diversion{}
	for i := 0; i+2 < len(ls); i += 3 {
		out[ls[i]] = diversion{to: ls[i+1], pkg: ls[i+2]}
	}
	return out, nil
}

// md5File hashes a regular file under the root, stopping when ctx ends.
func (e *Env) md5File(ctx context.Context, p string) (string, int64, error) {
	h, err := e.resolve(p)
	if err != nil {
		return "", 0, err
	}
	f, err := os.OpenFile(h, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", 0, e.pathErr(p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s: not a regular file", p)
	}
	m := md5.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", n, err
		}
		k, err := io.CopyN(m, f, 1<<20)
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", n, e.pathErr(p, err)
		}
	}
	return hex.EncodeToString(m.Sum(nil)), n, nil
}
