package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/origin"
)

// Ban is a ban of a prefix by a jail.
type Ban struct {
	// Jail is the jail that banned (or "manual" bans' jail).
	Jail string
	// Prefix is the banned address (/32, /128) or network.
	Prefix netip.Prefix
	// Since is when the ban started.
	Since time.Time
	// Until is when it ends; the zero time means never.
	Until time.Time
	// Count is the ban's number for this prefix: 1 for a first ban, n+1
	// after n earlier bans (bantime.increment).
	Count int
	// Origin says why the ban exists: a jail's decision, a person, a
	// fleet node, a blocklist or a kernel rule.
	Origin origin.Origin
}

// Permanent reports whether the ban never ends.
func (b Ban) Permanent() bool { return b.Until.IsZero() }

// Offense summarises a prefix's earlier bans.
type Offense struct {
	// Count is the number of bans in the history.
	Count int
	// Last is when the latest of them started.
	Last time.Time
}

// prefixText is the canonical form a prefix is stored in.
func prefixText(p netip.Prefix) string {
	return p.Masked().String()
}

// AddBans records bans as active, replacing an active ban of the same jail
// and prefix, and appends each to the ban history, all in one transaction:
// either every ban is stored or, on error, none is. Every call counts as
// new bans in the history, so do not call it to restore bans at start.
func (s *Store) AddBans(ctx context.Context, bans []Ban) error {
	if len(bans) == 0 {
		return nil
	}
	for i, b := range bans {
		if err := checkBan(b); err != nil {
			return fmt.Errorf("store: ban %d: %w", i, err)
		}
	}
	// Many rows per statement: each Exec costs the driver a goroutine, a
	// progress handler and a round of argument conversion, far more than
	// SQLite's work for one row, so a flood's 10,000 bans take 2 x 40
	// statements instead of 2 x 10,000.
	rows := make([][banArgs]any, len(bans))
	for i, b := range bans {
		rows[i] = [banArgs]any{b.Jail, prefixText(b.Prefix), b.Since.UnixNano(), nanos(b.Until), b.Count, string(b.Origin.Kind), b.Origin.String()}
	}
	// The active bans go in in key order, so that consecutive rows land in
	// the same B-tree pages (a flood's addresses come in random order);
	// the sort is stable, so of two bans of one key the later still wins.
	// The history keeps the order of the calls.
	byKey := make([]int, len(rows))
	for i := range byKey {
		byKey[i] = i
	}
	slices.SortStableFunc(byKey, func(a, b int) int {
		return cmp.Or(cmp.Compare(rows[a][0].(string), rows[b][0].(string)), cmp.Compare(rows[a][1].(string), rows[b][1].(string)))
	})
	defer s.writing()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: add bans: %w", err)
	}
	defer tx.Rollback()
	args := make([]any, 0, rowsPerInsert*banArgs)
	for _, w := range []struct {
		query func(int) string
		order []int // nil: as given
	}{{upsertBans, byKey}, {insertHistory, nil}} {
		var full *sql.Stmt // prepared once for rowsPerInsert rows
		for start := 0; start < len(rows); start += rowsPerInsert {
			n := min(len(rows)-start, rowsPerInsert)
			args = args[:0]
			for i := start; i < start+n; i++ {
				r := i
				if w.order != nil {
					r = w.order[i]
				}
				args = append(args, rows[r][:]...)
			}
			st := full
			if st == nil || n < rowsPerInsert {
				if st, err = tx.PrepareContext(ctx, w.query(n)); err != nil {
					return fmt.Errorf("store: add bans: %w", err)
				}
				defer st.Close()
				if n == rowsPerInsert {
					full = st
				}
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: add %d bans (%s %s, ...): %w", n, args[0], args[1], err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: add bans: %w", err)
	}
	return nil
}

// rowsPerInsert is the most rows AddBans writes with one statement;
// banArgs are the arguments of one row. SQLite allows 32,766 arguments.
const (
	rowsPerInsert = 256
	banArgs       = 7
)

// valueRows returns n rows of banArgs placeholders: "(?, ?, ...), (...)".
func valueRows(n int) string {
	row := "(?" + strings.Repeat(", ?", banArgs-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// upsertBans records n bans as active. A row conflicting with an earlier
// row of the same statement updates it, as separate statements would.
func upsertBans(n int) string {
	return `INSERT INTO bans (jail, prefix, since, until, count, source, origin) VALUES ` + valueRows(n) + `
		ON CONFLICT (jail, prefix) DO UPDATE SET
			since = excluded.since, until = excluded.until, count = excluded.count,
			source = excluded.source, origin = excluded.origin`
}

// insertHistory appends n bans to the history.
func insertHistory(n int) string {
	return `INSERT INTO history (jail, prefix, at, until, count, source, origin) VALUES ` + valueRows(n)
}

// checkBan refuses bans that cannot be stored faithfully.
func checkBan(b Ban) error {
	switch {
	case b.Jail == "":
		return fmt.Errorf("no jail")
	case !b.Prefix.IsValid():
		return fmt.Errorf("invalid prefix")
	case b.Since.IsZero():
		return fmt.Errorf("%s: no start time", b.Prefix)
	case !b.Until.IsZero() && b.Until.Before(b.Since):
		return fmt.Errorf("%s: ends before it starts", b.Prefix)
	case b.Count < 1:
		return fmt.Errorf("%s: count %d, want at least 1", b.Prefix, b.Count)
	case b.Origin.IsZero():
		return fmt.Errorf("%s: no origin", b.Prefix)
	}
	if err := b.Origin.Validate(); err != nil {
		return fmt.Errorf("%s: %w", b.Prefix, err)
	}
	return nil
}

// banColumns are the columns scanBan reads, in order.
const banColumns = "jail, prefix, since, until, count, origin"

// scanBan reads one row of banColumns.
func scanBan(sc interface{ Scan(...any) error }) (Ban, error) {
	var (
		b      Ban
		prefix string
		since  int64
		until  sql.NullInt64
		org    string
	)
	if err := sc.Scan(&b.Jail, &prefix, &since, &until, &b.Count, &org); err != nil {
		return Ban{}, err
	}
	o, err := origin.Parse(org)
	if err != nil {
		return Ban{}, fmt.Errorf("stored ban %s %s: %w", b.Jail, prefix, err)
	}
	b.Origin = o
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return Ban{}, fmt.Errorf("stored prefix %q: %w", prefix, err)
	}
	b.Prefix = p
	b.Since = time.Unix(0, since).UTC()
	b.Until = fromNanos(until)
	return b, nil
}

// collect reads all rows of a banColumns query.
func collect(rows *sql.Rows, err error) ([]Ban, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		b, err := scanBan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// ActiveBans returns the bans still in force at now, permanent ones
// included, ordered by jail and prefix.
func (s *Store) ActiveBans(ctx context.Context, now time.Time) ([]Ban, error) {
	bans, err := collect(s.db.QueryContext(ctx,
		"SELECT "+banColumns+" FROM bans WHERE until IS NULL OR until > ? ORDER BY jail, prefix", now.UnixNano()))
	if err != nil {
		return nil, s.checkCorrupt(fmt.Errorf("store: active bans: %w", err))
	}
	return bans, nil
}

// RemoveBans ends the given bans early (an unban) and returns those that
// were active. Each Ban selects by Prefix (exactly, not what it contains)
// and by Jail, or every jail when Jail is empty; other fields are ignored.
// The history keeps them.
func (s *Store) RemoveBans(ctx context.Context, bans []Ban) ([]Ban, error) {
	defer s.writing()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: remove bans: %w", err)
	}
	defer tx.Rollback()
	var removed []Ban
	for _, b := range bans {
		if !b.Prefix.IsValid() {
			return nil, fmt.Errorf("store: remove ban: invalid prefix")
		}
		q, args := "DELETE FROM bans WHERE prefix = ?", []any{prefixText(b.Prefix)}
		if b.Jail != "" {
			q, args = q+" AND jail = ?", append(args, b.Jail)
		}
		got, err := collect(tx.QueryContext(ctx, q+" RETURNING "+banColumns, args...))
		if err != nil {
			return nil, fmt.Errorf("store: remove ban %s: %w", b.Prefix, err)
		}
		removed = append(removed, got...)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: remove bans: %w", err)
	}
	return removed, nil
}

// ExpireBefore deletes the bans that ended at or before now and returns them.
func (s *Store) ExpireBefore(ctx context.Context, now time.Time) ([]Ban, error) {
	defer s.writing()()
	bans, err := collect(s.db.QueryContext(ctx,
		"DELETE FROM bans WHERE until IS NOT NULL AND until <= ? RETURNING "+banColumns, now.UnixNano()))
	if err != nil {
		return nil, s.checkCorrupt(fmt.Errorf("store: expire bans: %w", err))
	}
	return bans, nil
}

// BanCount returns how many times prefix was banned according to the
// history, and when it was last banned (zero if never), in jail or, when
// jail is empty, in every jail (bantime.overalljails).
func (s *Store) BanCount(ctx context.Context, prefix netip.Prefix, jail string) (int, time.Time, error) {
	q, args := "SELECT count(*), max(at) FROM history WHERE prefix = ?", []any{prefixText(prefix)}
	if jail != "" {
		q, args = q+" AND jail = ?", append(args, jail)
	}
	var (
		n    int
		last sql.NullInt64
	)
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n, &last); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: ban count %s: %w", prefix, err)
	}
	return n, fromNanos(last), nil
}

// Offenders returns the Offense of every prefix in the history, of jail or
// of every jail when jail is empty: what an in-memory jail.History needs
// at start.
func (s *Store) Offenders(ctx context.Context, jail string) (map[netip.Prefix]Offense, error) {
	q, args := "SELECT prefix, count(*), max(at) FROM history", []any{}
	if jail != "" {
		q, args = q+" WHERE jail = ?", append(args, jail)
	}
	rows, err := s.db.QueryContext(ctx, q+" GROUP BY prefix", args...)
	if err != nil {
		return nil, fmt.Errorf("store: offenders: %w", err)
	}
	defer rows.Close()
	out := map[netip.Prefix]Offense{}
	for rows.Next() {
		var (
			prefix string
			o      Offense
			last   int64
		)
		if err := rows.Scan(&prefix, &o.Count, &last); err != nil {
			return nil, fmt.Errorf("store: offenders: %w", err)
		}
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			return nil, fmt.Errorf("store: offenders: stored prefix %q: %w", prefix, err)
		}
		o.Last = time.Unix(0, last).UTC()
		out[p] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: offenders: %w", err)
	}
	return out, nil
}

// HistoryQuery selects ban history; zero fields select everything.
type HistoryQuery struct {
	// Prefix selects one prefix (exactly).
	Prefix netip.Prefix
	// Jail selects one jail.
	Jail string
	// Since selects bans that started at or after it.
	Since time.Time
	// Limit caps the number of bans returned, newest first kept.
	Limit int
}

// History returns past bans (active ones included), oldest first.
func (s *Store) History(ctx context.Context, hq HistoryQuery) ([]Ban, error) {
	var (
		where []string
		args  []any
	)
	if hq.Prefix.IsValid() {
		where, args = append(where, "prefix = ?"), append(args, prefixText(hq.Prefix))
	}
	if hq.Jail != "" {
		where, args = append(where, "jail = ?"), append(args, hq.Jail)
	}
	if !hq.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, hq.Since.UnixNano())
	}
	q := "SELECT jail, prefix, at AS since, until, count, origin, id FROM history"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if hq.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, hq.Limit)
	}
	bans, err := collect(s.db.QueryContext(ctx, "SELECT "+banColumns+" FROM ("+q+") ORDER BY since, id", args...))
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	return bans, nil
}

// PurgeHistory deletes history of bans that started before t, and returns
// how many it deleted. Fail2ban keeps a day by default (dbpurgeage); the
// recidive jail and bantime.increment need longer.
func (s *Store) PurgeHistory(ctx context.Context, before time.Time) (int64, error) {
	defer s.writingLater()()
	res, err := s.db.ExecContext(ctx, "DELETE FROM history WHERE at < ?", before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("store: purge history: %w", err)
	}
	return res.RowsAffected()
}
