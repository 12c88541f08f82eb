package ban

import (
	"context"

	"github.com/rampart-ids/rampart/internal/store"
)

// retryStore hands the store the bans it refused (see Add), once they are
// still in force. Holds opMu.
func (m *Manager) retryStore(ctx context.Context) {
	m.mu.Lock()
	if len(m.unstored) == 0 {
		m.mu.Unlock()
		return
	}
	now := m.now()
	var bans []store.Ban
	for k, b := range m.unstored {
		if a, ok := m.active[k]; !ok || a != b || (!b.Until.IsZero() && !b.Until.After(now)) {
			delete(m.unstored, k) // lifted, replaced or ended meanwhile
			continue
		}
		bans = append(bans, b)
	}
	m.mu.Unlock()
	if len(bans) == 0 {
		m.setStoreErr(nil)
		return
	}
	if err := m.store.AddBans(ctx, bans); err != nil {
		m.log.Warn("state database still refuses bans; they stay enforced, retrying", "bans", len(bans), "err", err)
		return
	}
	m.mu.Lock()
	for _, b := range bans {
		k := key{b.Jail, b.Prefix}
		if m.unstored[k] == b {
			delete(m.unstored, k)
		}
	}
	m.storeErr = nil
	m.mu.Unlock()
	m.log.Warn("state database writable again: stored the bans it had refused", "bans", len(bans))
}

func (m *Manager) setStoreErr(err error) {
	m.mu.Lock()
	m.storeErr = err
	m.mu.Unlock()
}

// StoreState reports the last error of the store when bans in force are
// waiting for it (disk full, read-only state directory), and how many: ""
// and 0 when everything in force is stored.
func (m *Manager) StoreState() (err string, unstored int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.unstored) == 0 || m.storeErr == nil {
		return "", len(m.unstored)
	}
	return m.storeErr.Error(), len(m.unstored)
}
