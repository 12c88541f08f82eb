package config

// Source is where a jail reads its log, as resolved at start.
type Source struct {
	Journal      bool     // read journald; otherwise Files
	Polling      bool     // poll Files instead of using inotify
	Files        []string // absolute globs
	JournalMatch []string // journalctl terms, for Journal
}

// Source resolves the jail's backend. For "auto" it reads the files in
// logpath when any exists, and otherwise the journal if the jail has a
// journalmatch — the way the default sshd jail finds /var/log/auth.log on
// a host with rsyslog and the journal on one without. glob is
// filepath.Glob outside tests.
func (j *Jail) Source(glob func(pattern string) ([]string, error)) Source {
	switch j.Backend {
	case BackendJournal:
		return Source{Journal: true, JournalMatch: j.JournalMatch}
	case BackendPolling:
		return Source{Polling: true, Files: j.LogPath}
	case BackendFile:
		return Source{Files: j.LogPath}
	}
	for _, p := range j.LogPath {
		if m, err := glob(p); err == nil && len(m) > 0 {
			return Source{Files: j.LogPath}
		}
	}
	if len(j.JournalMatch) > 0 {
		return Source{Journal: true, JournalMatch: j.JournalMatch}
	}
	return Source{Files: j.LogPath}
}
