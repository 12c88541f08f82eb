package audit

import (
	"context"
	"strings"
)

func monitoringChecks() []Check {
	return []Check{
		serviceCheck("monitoring.log-daemon", Medium, "A log daemon is running",
			"/proc: rsyslogd, systemd-journald, syslog-ng; under --root their units",
			"Without a log daemon, failed logins, bans and kernel warnings are not recorded anywhere.",
			"apt-get install rsyslog && systemctl enable --now rsyslog",
			[]string{"rsyslogd", "systemd-journald", "syslog-ng"},
			[]string{"rsyslog.service", "syslog-ng.service", "systemd-journald.service"}),
		{
			ID: "monitoring.auth-log", Area: AreaMonitoring, Severity: Medium,
			Title:       "Authentication messages are kept on disk",
			Reads:       "rsyslog's auth/authpriv rules (/etc/rsyslog.conf, /etc/rsyslog.d), else journald's Storage",
			Why:         "Login records are the first thing an investigation needs, and what the ban engine reads.",
			Remediation: "echo 'auth,authpriv.* /var/log/auth.log' > /etc/rsyslog.d/50-auth.conf && systemctl restart rsyslog",
			Run: func(ctx context.Context, e *Env) Result {
				t, err := e.sshdLogTarget(ctx)
				if err != nil {
					return errorf("%v", err)
				}
				if t != "journal" {
					return pass("rsyslog writes auth messages to %s", t)
				}
				ok, ev, err := e.journalPersistent()
				if err != nil {
					return e.readErr(err)
				}
				if ok {
					return pass("auth messages go to the journal, which is persistent (%s)", ev)
				}
				return fail("auth messages go to the journal only, which is volatile (%s)", ev)
			},
		},
		{
			ID: "monitoring.journald-persistent", Area: AreaMonitoring, Severity: Low,
			Title:       "The journal survives reboots",
			Reads:       "Storage= in /etc/systemd/journald.conf and journald.conf.d, /var/log/journal",
			Why:         "A volatile journal loses the evidence of whatever happened before a reboot, which is when it matters.",
			Remediation: "mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\nStorage=persistent\\n' > /etc/systemd/journald.conf.d/50-persistent.conf && systemctl restart systemd-journald",
			Run: func(ctx context.Context, e *Env) Result {
				ok, ev, err := e.journalPersistent()
				if err != nil {
					return e.readErr(err)
				}
				if ok {
					return pass("%s", ev)
				}
				return fail("%s", ev)
			},
		},
		{
			ID: "monitoring.remote-logging", Area: AreaMonitoring, Severity: Medium,
			Title:       "Logs are also sent off the host",
			Reads:       "rsyslog forwarding (@@host, @host, omfwd, omrelp), systemd-journal-upload.service, a running log shipper (vector, fluent-bit, filebeat, promtail, alloy)",
			Why:         "An intruder with root erases local logs; a remote copy keeps the record.",
			Remediation: "echo '*.* @@loghost.example.org:514' > /etc/rsyslog.d/90-remote.conf && systemctl restart rsyslog",
			Run:         checkRemoteLogging,
		},
		{
			ID: "monitoring.logrotate", Area: AreaMonitoring, Severity: Low,
			Title:       "Logs are rotated",
			Reads:       "logrotate installed (/var/lib/dpkg/status) and logrotate.timer enabled or /etc/cron.daily/logrotate",
			Why:         "Unrotated logs fill the disk, and a full disk stops logging (and often the services).",
			Remediation: "apt-get install logrotate && systemctl enable --now logrotate.timer",
			Run: func(ctx context.Context, e *Env) Result {
				n, err := e.installedAny(ctx, "logrotate")
				if err != nil {
					return e.readErr(err)
				}
				if n == "" {
					return fail("logrotate is not installed")
				}
				if e.unitState("logrotate.timer") == "enabled" {
					return pass("logrotate.timer enabled")
				}
				if e.exists("/etc/cron.daily/logrotate") {
					return pass("/etc/cron.daily/logrotate")
				}
				return fail("logrotate installed but neither logrotate.timer enabled nor /etc/cron.daily/logrotate")
			},
		},
		serviceCheck("monitoring.time-sync", Medium, "The clock is synchronised",
			"/proc: chronyd, systemd-timesyncd, ntpd, openntpd; under --root their units",
			"Log correlation, certificate checks and ban expiry all depend on the right time.",
			"apt-get install chrony && systemctl enable --now chrony",
			[]string{"chronyd", "systemd-timesyncd", "ntpd", "openntpd"},
			[]string{"chrony.service", "systemd-timesyncd.service", "ntpsec.service", "ntp.service", "openntpd.service"}),
		serviceCheck("monitoring.metrics-agent", Low, "A monitoring agent is running",
			"/proc: prometheus-node-exporter, node_exporter, telegraf, zabbix_agentd, zabbix_agent2, collectd, netdata, munin-node, datadog agent; under --root their units",
			"Full disks, load spikes and dead services are noticed by monitoring before users or attackers exploit them.",
			"apt-get install prometheus-node-exporter && systemctl enable --now prometheus-node-exporter",
			[]string{"prometheus-node-exporter", "node_exporter", "telegraf", "zabbix_agentd", "zabbix_agent2", "collectd", "netdata", "munin-node"},
			[]string{"prometheus-node-exporter.service", "telegraf.service", "zabbix-agent.service", "zabbix-agent2.service", "collectd.service", "netdata.service", "munin-node.service", "datadog-agent.service"}),
	}
}

// serviceCheck builds a check that a daemon runs (live) or is enabled.
func serviceCheck(id string, sev Severity, title, reads, why, fix string, procs, units []string) Check {
	return Check{
		ID: id, Area: AreaMonitoring, Severity: sev, Title: title, Reads: reads, Why: why, Remediation: fix,
		Run: func(ctx context.Context, e *Env) Result {
			up, ev, err := e.service(ctx, procs, units)
			if err != nil {
				return errorf("%v", err)
			}
			if up {
				return pass("%s", ev)
			}
			return fail("%s", ev)
		},
	}
}

// journalPersistent reads journald's Storage setting.
func (e *Env) journalPersistent() (bool, string, error) {
	storage, where := "auto", "default"
	files := []string{"/etc/systemd/journald.conf"}
	more, _ := e.Glob("/etc/systemd/journald.conf.d/*.conf")
	files = append(files, more...)
	for _, f := range files {
		kv, err := e.readKV(f, "=")
		if err != nil {
			return false, "", err
		}
		if v, ok := kv["Storage"]; ok {
			storage, where = strings.ToLower(v), f
		}
	}
	switch storage {
	case "persistent":
		return true, "Storage=persistent in " + where, nil
	case "auto":
		if fi, err := e.Stat("/var/log/journal"); err == nil && fi.IsDir() {
			return true, "Storage=auto (" + where + ") and /var/log/journal exists", nil
		}
		return false, "Storage=auto (" + where + ") and no /var/log/journal", nil
	}
	return false, "Storage=" + storage + " in " + where, nil
}

func checkRemoteLogging(ctx context.Context, e *Env) Result {
	files := []string{"/etc/rsyslog.conf"}
	more, _ := e.Glob("/etc/rsyslog.d/*.conf")
	files = append(files, more...)
	for _, f := range files {
		ls, err := e.lines(f)
		if err != nil {
			if notExist(err) {
				continue
			}
			return e.readErr(err)
		}
		for _, l := range ls {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "#") || l == "" {
				continue
			}
			fs := strings.Fields(l)
			if strings.Contains(l, "omfwd") || strings.Contains(l, "omrelp") ||
				(len(fs) >= 2 && strings.HasPrefix(fs[len(fs)-1], "@")) {
				return pass("%s forwards: %s", f, trunc(l, 120))
			}
		}
	}
	if e.unitState("systemd-journal-upload.service") == "enabled" {
		return pass("systemd-journal-upload.service enabled")
	}
	if e.live() {
		ps, err := e.running(ctx, "vector", "fluent-bit", "filebeat", "promtail", "alloy", "td-agent-bit", "otelcol", "otelcol-contrib")
		if err != nil {
			return errorf("%v", err)
		}
		if len(ps) > 0 {
			return pass("log shipper %s running (pid %d)", ps[0].Comm, ps[0].PID)
		}
	}
	return fail("no rsyslog forwarding, no journal upload, no log shipper")
}
