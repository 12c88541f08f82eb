package harden

import (
	"context"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// JournaldDropIn is the drop-in the journald area writes.
const JournaldDropIn = "/etc/systemd/journald.conf.d/50-rampart.conf"

// JournalMaxUse caps the persistent journal.
const JournalMaxUse = "1G"

// Journald keeps the journal across reboots, with a size cap, through a
// drop-in (journald.conf itself is left to the package).
type Journald struct{}

// Name implements Area.
func (Journald) Name() string { return "journald" }

var journaldCheckIDs = []string{"monitoring.journald-persistent", "monitoring.auth-log"}

// Plan implements Area.
func (Journald) Plan(ctx context.Context, env *Env) (*Proposal, error) {
	if _, err := os.Stat(hostPath(env.Root, "/etc/systemd")); err != nil {
		return nil, skipf("no /etc/systemd: journald is not this system's logger")
	}
	p := &Proposal{Area: "journald"}
	ours, ourErr := os.ReadFile(hostPath(env.Root, JournaldDropIn))
	cfg := journaldEffective(env.Root)
	persistent := strings.EqualFold(cfg["Storage"], "persistent")
	capped := cfg["SystemMaxUse"] != ""
	if ourErr != nil && persistent && capped {
		return p, nil
	}
	failing := env.Failing(ctx, journaldCheckIDs...)
	want := "# Written by rampart harden (journald): keep the journal across reboots,\n" +
		"# capped in size. Undo: rampart harden undo.\n[Journal]\nStorage=persistent\n"
	// A cap set elsewhere by the admin is theirs; ours only fills a gap.
	if !capped {
		want += "SystemMaxUse=" + JournalMaxUse + "\n"
	}
	if ourErr == nil && string(ours) == want {
		return p, nil
	}
	p.Files = append(p.Files, File{Path: JournaldDropIn, Data: []byte(want), Mode: 0o644})
	for _, id := range journaldCheckIDs {
		if slices.Contains(failing, id) {
			p.Checks = append(p.Checks, id)
		}
	}
	p.Reload = append(p.Reload, Command{Name: "systemctl", Args: []string{"restart", "systemd-journald.service"}})
	return p, nil
}

// journaldEffective merges the [Journal] section of journald.conf and its
// drop-ins (in name order, later wins) except rampart's own.
func journaldEffective(root string) map[string]string {
	out := map[string]string{}
	files := []string{"/etc/systemd/journald.conf"}
	var drop []string
	for _, dir := range []string{"/usr/lib/systemd/journald.conf.d", "/etc/systemd/journald.conf.d", "/run/systemd/journald.conf.d"} {
		for _, n := range dirsOf(root, dir) {
			if strings.HasSuffix(n, ".conf") && path.Join(dir, n) != JournaldDropIn {
				drop = append(drop, path.Join(dir, n))
			}
		}
	}
	sort.Slice(drop, func(i, j int) bool { return path.Base(drop[i]) < path.Base(drop[j]) })
	for _, f := range append(files, drop...) {
		b, err := readHostFile(root, f)
		if err != nil {
			continue
		}
		for k, v := range ParseUnitINI(b)["Journal"] {
			out[k] = v
		}
	}
	return out
}
