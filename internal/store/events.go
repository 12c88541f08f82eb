package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
)

// eventDetail is what an event carries beside the indexed columns.
type eventDetail struct {
	Evidence []string      `json:"evidence,omitempty"`
	Until    time.Time     `json:"until,omitzero"`
	Count    int           `json:"count,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Latency  time.Duration `json:"latency,omitempty"`
	Adds     int           `json:"adds,omitempty"`
	Removes  int           `json:"removes,omitempty"`
	Took     time.Duration `json:"took,omitempty"`
	Err      string        `json:"error,omitempty"`
	Path     string        `json:"path,omitempty"`
	Score    int           `json:"score,omitempty"`
}

// eventRows is how many events one INSERT statement writes: a statement
// per event costs more than the row itself.
const eventRows = 64

// eventTxRows is how many events one transaction writes (~30 ms of
// work): a flood's history batch of tens of thousands would otherwise hold
// the write lock for a second, and the bans' commits wait behind it.
const eventTxRows = 1024

// AddEvents appends events to the history, in transactions of up to
// eventTxRows events in order; on an error the events of the transactions
// already committed stay stored.
func (s *Store) AddEvents(ctx context.Context, evs []event.Event) error {
	for len(evs) > 0 {
		n := min(len(evs), eventTxRows)
		if err := s.addEvents(ctx, evs[:n]); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// addEvents appends events in one transaction.
func (s *Store) addEvents(ctx context.Context, evs []event.Event) error {
	// The arguments are built before the write lock is taken.
	args := make([]any, 0, 10*len(evs))
	for _, e := range evs {
		row, err := eventArgs(e)
		if err != nil {
			return err
		}
		args = append(args, row...)
	}
	conn, err := s.lazyConn(ctx)
	if err != nil {
		return fmt.Errorf("store: add events: %w", err)
	}
	defer conn.release()
	defer s.writingLater()()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: add events: %w", err)
	}
	defer tx.Rollback()
	const cols = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insert := func(n int) string {
		return "INSERT INTO events (at, kind, jail, prefix, origin, rule, severity, source, evidence, detail) VALUES " +
			cols + strings.Repeat(", "+cols, n-1)
	}
	var full *sql.Stmt
	for len(args) > 0 {
		n := min(len(args)/10, eventRows)
		st := full
		if st == nil || n < eventRows {
			if st, err = tx.PrepareContext(ctx, insert(n)); err != nil {
				return fmt.Errorf("store: add events: %w", err)
			}
			defer st.Close()
			if n == eventRows {
				full = st
			}
		}
		if _, err := st.ExecContext(ctx, args[:10*n]...); err != nil {
			return fmt.Errorf("store: add events: %w", err)
		}
		args = args[10*n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: add events: %w", err)
	}
	return nil
}

// eventArgs are the column values of one event.
func eventArgs(e event.Event) ([]any, error) {
	p := ""
	if e.Prefix.IsValid() {
		p = prefixText(e.Prefix)
	}
	d := eventDetail{Until: e.Until, Count: e.Count, Reason: e.Reason, Latency: e.Latency, Adds: e.Adds, Removes: e.Removes, Took: e.Took, Err: e.Err, Path: e.Path, Score: e.Score}
	ev := ""
	if len(e.Evidence) == 1 {
		ev = e.Evidence[0]
	} else {
		d.Evidence = e.Evidence
	}
	detail := ""
	if d.Evidence != nil || !d.Until.IsZero() || d.Count != 0 || d.Reason != "" || d.Latency != 0 || d.Adds != 0 || d.Removes != 0 || d.Took != 0 || d.Err != "" ||
		d.Path != "" || d.Score != 0 {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("store: add events: %w", err)
		}
		detail = string(b)
	}
	return []any{e.Time.UnixNano(), e.Kind.String(), e.Jail, p, e.Origin, e.Rule, e.Severity, e.Source, ev, detail}, nil
}

// EventQuery selects events; zero fields select everything.
type EventQuery struct {
	Since, Until time.Time
	// Kinds selects kinds by name ("ban", "finding", …).
	Kinds []string
	// Prefix selects events about exactly this prefix (an address is its
	// /32 or /128).
	Prefix netip.Prefix
	Jail   string
	// Limit caps the events returned: the newest Limit are kept. 0 means
	// 1000.
	Limit int
	// Before, when not zero, selects events with a smaller ID (paging
	// back from a page's oldest event).
	Before int64
}

// StoredEvent is an event of the history with its ID.
type StoredEvent struct {
	ID int64 `json:"id"`
	event.Event
}

// Events returns the events q selects, oldest first.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]StoredEvent, error) {
	var (
		where []string
		args  []any
	)
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, q.Until.UnixNano())
	}
	if len(q.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(", ?", len(q.Kinds)-1)+")")
		for _, k := range q.Kinds {
			args = append(args, k)
		}
	}
	if q.Prefix.IsValid() {
		where, args = append(where, "prefix = ?"), append(args, prefixText(q.Prefix))
	}
	if q.Jail != "" {
		where, args = append(where, "jail = ?"), append(args, q.Jail)
	}
	if q.Before > 0 {
		where, args = append(where, "id < ?"), append(args, q.Before)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query := "SELECT id, at, kind, jail, prefix, origin, rule, severity, source, evidence, detail FROM events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func scanEvent(rows *sql.Rows) (StoredEvent, error) {
	var (
		e                    StoredEvent
		at                   int64
		kind, prefix, ev, dj string
	)
	if err := rows.Scan(&e.ID, &at, &kind, &e.Jail, &prefix, &e.Origin, &e.Rule, &e.Severity, &e.Source, &ev, &dj); err != nil {
		return e, err
	}
	e.Time = time.Unix(0, at).UTC()
	k, ok := event.ParseKind(kind)
	if !ok {
		return e, fmt.Errorf("stored event %d: unknown kind %q", e.ID, kind)
	}
	e.Kind = k
	if prefix != "" {
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			return e, fmt.Errorf("stored event %d: prefix %q: %w", e.ID, prefix, err)
		}
		e.Prefix = p
	}
	if dj != "" {
		var d eventDetail
		if err := json.Unmarshal([]byte(dj), &d); err != nil {
			return e, fmt.Errorf("stored event %d: detail: %w", e.ID, err)
		}
		e.Evidence, e.Until, e.Count, e.Reason, e.Latency = d.Evidence, d.Until, d.Count, d.Reason, d.Latency
		e.Adds, e.Removes, e.Took, e.Err = d.Adds, d.Removes, d.Took, d.Err
		e.Path, e.Score = d.Path, d.Score
	}
	if ev != "" {
		e.Evidence = []string{ev}
	}
	return e, nil
}

// PurgeEvents deletes events older than before and returns how many.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	defer s.writingLater()()
	res, err := s.db.ExecContext(ctx, "DELETE FROM events WHERE at < ?", before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("store: purge events: %w", err)
	}
	return res.RowsAffected()
}

// UsedBytes is how much of the database file holds data (its free pages
// not counted): what max_size bounds.
func (s *Store) UsedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	for q, v := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
		if err := s.db.QueryRowContext(ctx, q).Scan(v); err != nil {
			return 0, fmt.Errorf("store: %s: %w", q, err)
		}
	}
	return (pages - free) * size, nil
}

// TrimEvents deletes the oldest events, a tenth of them at a time, until
// the database's used size is at most maxBytes or no event is left; it
// returns how many it deleted. Freed pages are reused by new rows, so the
// file stops growing rather than shrinking.
func (s *Store) TrimEvents(ctx context.Context, maxBytes int64) (int64, error) {
	var total int64
	for {
		used, err := s.UsedBytes(ctx)
		if err != nil || used <= maxBytes {
			return total, err
		}
		n, err := s.EventCount(ctx)
		if err != nil || n == 0 {
			return total, err
		}
		unlock := s.writingLater()
		res, err := s.db.ExecContext(ctx, "DELETE FROM events WHERE id <= (SELECT min(id) FROM events) + ?", max(n/10, 1)-1)
		unlock()
		if err != nil {
			return total, fmt.Errorf("store: trim events: %w", err)
		}
		d, _ := res.RowsAffected()
		total += d
	}
}

// EventCount returns how many events the history holds.
func (s *Store) EventCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n)
	return n, err
}
