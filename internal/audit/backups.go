package audit

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const defaultBackupMaxAge = 26 * time.Hour

func backupChecks() []Check {
	return []Check{
		{
			ID: "backups.declared", Area: AreaBackups, Severity: Medium,
			Title: "How to verify the backups is declared", Reads: "[backup] marker or command in the audit config",
			Why:         "Only the admin knows where proof of a good backup lives; without it no one can tell whether there is one.",
			Remediation: "declare [backup] marker = \"/var/backups/.last-success\" (touched by the job on success) or command = [...] in /etc/rampart/audit.toml",
			Run: func(ctx context.Context, e *Env) Result {
				b := e.Config.Backup
				switch {
				case b.Marker != "":
					return pass("backup marker %s", b.Marker)
				case len(b.Command) > 0:
					return pass("backup check command %s", strings.Join(b.Command, " "))
				}
				return warn("no [backup] marker or command declared").fix("%s", e.Config.declareHint(backupSnippet))
			},
		},
		{
			ID: "backups.recent", Area: AreaBackups, Severity: High,
			Title: "The last successful backup is recent", Reads: "the declared marker file's mtime, or the declared command's exit status and printed time, against max_age (default 26h)",
			Why:         "A backup job that silently stopped is found out on the day of the restore.",
			Remediation: "run the backup job now and find why it stopped (its log, its timer); the marker must be touched only on success",
			Run:         checkBackupRecent,
		},
		{
			ID: "backups.scheduled", Area: AreaBackups, Severity: Medium,
			Title: "A backup job is scheduled", Reads: "systemd timers in /etc/systemd/system and cron files (/etc/crontab, /etc/cron.d, /etc/cron.daily, /var/spool/cron/crontabs) naming restic, borg, borgmatic, rsnapshot, duplicity, bacula, bareos, rdiff-backup, duplicati, kopia, zfs send or a *backup* job",
			Why:         "Backups that depend on someone remembering stop being taken.",
			Remediation: "schedule the job, e.g. a systemd timer running borgmatic or restic backup daily",
			Run:         checkBackupScheduled,
		},
		{
			ID: "backups.restore-tested", Area: AreaBackups, Severity: Medium,
			Title: "A restore was tested recently", Reads: "[backup] restore_test_marker's mtime against restore_test_max_age (default 90 days)",
			Why:         "A backup is only as good as the last restore that worked.",
			Remediation: "restore into a scratch directory, compare, then touch the declared restore_test_marker",
			Run: func(ctx context.Context, e *Env) Result {
				b := e.Config.Backup
				if b.RestoreTestMarker == "" {
					return warn("no restore_test_marker declared").fix("%s", e.Config.declareHint("[backup]\nrestore_test_marker = \"/var/backups/.last-restore-test\"\nrestore_test_max_age = \"2160h\""))
				}
				max := b.RestoreTestMaxAge.Duration
				if max == 0 {
					max = 90 * 24 * time.Hour
				}
				return markerAge(e, b.RestoreTestMarker, max)
			},
		},
	}
}

const backupSnippet = "[backup]\nmarker = \"/var/backups/.last-success\"\nmax_age = \"26h\""

// markerAge checks a marker file's age. The marker is read under --root.
func markerAge(e *Env, marker string, max time.Duration) Result {
	fi, err := e.Stat(marker)
	if err != nil {
		if notExist(err) {
			return fail("%s does not exist", marker)
		}
		return e.readErr(err)
	}
	a := e.Now.Sub(fi.ModTime())
	if a > max {
		return fail("%s is %s old (max_age %s)", marker, age(a), age(max))
	}
	return pass("%s is %s old (max_age %s)", marker, age(a), age(max))
}

func checkBackupRecent(ctx context.Context, e *Env) Result {
	b := e.Config.Backup
	max := b.MaxAge.Duration
	if max == 0 {
		max = defaultBackupMaxAge
	}
	if b.Marker != "" {
		return markerAge(e, b.Marker, max)
	}
	if len(b.Command) == 0 {
		return warn("no backup marker or command declared").fix("%s", e.Config.declareHint(backupSnippet))
	}
	if !e.live() {
		return offline()
	}
	out, err := e.run(ctx, b.Command[0], b.Command[1:]...)
	if err != nil {
		return fail("%s: %v", strings.Join(b.Command, " "), err)
	}
	s := strings.TrimSpace(string(out))
	if t, ok := parseWhen(s); ok {
		a := e.Now.Sub(t)
		if a > max {
			return fail("%s: last backup %s ago (max_age %s)", b.Command[0], age(a), age(max))
		}
		return pass("%s: last backup %s ago", b.Command[0], age(a))
	}
	return pass("%s exited 0", strings.Join(b.Command, " "))
}

// parseWhen reads an RFC 3339 time or Unix seconds.
func parseWhen(s string) (time.Time, bool) {
	s = firstLine(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

var backupTool = regexp.MustCompile(`\b(restic|borg|borgmatic|rsnapshot|duplicity|duply|bacula-fd|bareos-fd|rdiff-backup|duplicati|kopia|zfs send|zrepl|sanoid|syncoid|backup)`)

func checkBackupScheduled(ctx context.Context, e *Env) Result {
	var files []string
	for _, pat := range []string{"/etc/systemd/system/*.timer", "/etc/systemd/system/*.service", "/etc/cron.d/*", "/etc/cron.daily/*", "/etc/cron.hourly/*", "/etc/cron.weekly/*", "/var/spool/cron/crontabs/*"} {
		m, err := e.Glob(pat)
		if err != nil {
			continue
		}
		files = append(files, m...)
	}
	files = append(files, "/etc/crontab")
	for _, f := range files {
		name := f[strings.LastIndexByte(f, '/')+1:]
		if name == "dpkg" || strings.HasPrefix(name, "dpkg-db-backup") || name == "passwd" {
			continue // Debian's own metadata backups
		}
		if backupTool.MatchString(name) && (strings.HasSuffix(name, ".timer") || !strings.HasSuffix(name, ".service")) {
			return pass("%s", f)
		}
		if strings.HasSuffix(name, ".service") || strings.HasSuffix(name, ".timer") {
			continue
		}
		ls, err := e.lines(f)
		if err != nil {
			continue
		}
		for _, l := range ls {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") && backupTool.MatchString(l) {
				return pass("%s: %s", f, trunc(l, 100))
			}
		}
	}
	if e.Config.Backup.Marker != "" || len(e.Config.Backup.Command) > 0 {
		return warn("no backup job found in cron or systemd timers; backups may run from another host")
	}
	return fail("no backup job in cron or systemd timers")
}
