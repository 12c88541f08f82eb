package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/jail"
)

// purgeHistory drops ban history older than keep from the store and from
// offs (when given), as Fail2ban's dbpurgeage does.
func (d *Daemon) purgeHistory(ctx context.Context, keep time.Duration, offs *jail.Offenders) {
	if keep <= 0 || keep == config.Permanent {
		return
	}
	before := time.Now().Add(-keep)
	n, err := d.store.PurgeHistory(ctx, before)
	if err != nil {
		d.log.Warn("purging ban history", "err", err)
		return
	}
	if offs != nil {
		offs.Purge(before)
	}
	if n > 0 {
		d.log.Info("ban history purged", "entries", n, "before", before.UTC().Format(time.RFC3339))
	}
}

// seedOffenders loads ban history for bantime.increment.
func (d *Daemon) seedOffenders(ctx context.Context, offs *jail.Offenders, jails map[string]*runJail) error {
	for name := range jails {
		hist, err := d.store.Offenders(ctx, name)
		if err != nil {
			return fmt.Errorf("jail %q: reading ban history: %w", name, err)
		}
		for p, o := range hist {
			offs.Add(name, p, o.Count, o.Last)
		}
	}
	return nil
}
