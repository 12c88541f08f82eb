// Package store keeps rampart's state in one SQLite database (the pure-Go
// modernc.org/sqlite driver, in WAL mode) inside the state directory: the
// active bans, the history of every ban (for bantime.increment and the
// recidive jail), the read positions of followed log files and journald
// cursors. The schema is created and upgraded by embedded migrations.
//
// A committed write survives kill -9 and power loss: see Open.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open state database. Its methods are safe for concurrent use.
type Store struct {
	db   *sql.DB
	now  func() time.Time
	path string
	// wmu lets one of this process's writes at a time into SQLite. SQLite
	// alone would make a waiting writer sleep in steps of up to 100 ms
	// (its busy handler polls), so a ban's commit queued behind a batch of
	// the event history could wait a whole step after the lock was free;
	// a mutex hands over at once. busy_timeout still covers writers in
	// other processes.
	wmu sync.Mutex
	// urgent counts writes of bans waiting for wmu: background writes (the
	// event history, positions, purges) let them go first.
	urgent atomic.Int32
}

// writing takes the write lock for a ban's write, ahead of background
// writes; call the result to release it.
func (s *Store) writing() func() {
	s.urgent.Add(1)
	s.wmu.Lock()
	s.urgent.Add(-1)
	return s.wmu.Unlock
}

// writingLater takes the write lock for a background write once no ban's
// write is waiting; call the result to release it.
func (s *Store) writingLater() func() {
	for s.urgent.Load() > 0 {
		time.Sleep(200 * time.Microsecond)
	}
	s.wmu.Lock()
	return s.wmu.Unlock
}

// lazy is a connection that commits without syncing the log
// (synchronous=NORMAL), for the event history.
type lazy struct{ *sql.Conn }

// lazyConn takes a connection from the pool and turns syncing off for it.
// A commit on it survives kill -9 but not a power cut, unless a later
// commit of a ban syncs the log, which holds it too: the log is one file,
// synced up to each ban's commit.
func (s *Store) lazyConn(ctx context.Context) (lazy, error) {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return lazy{}, err
	}
	if _, err := c.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		c.Close()
		return lazy{}, err
	}
	return lazy{c}, nil
}

// release turns syncing back on and returns the connection to the pool,
// or, when that fails, closes it: a pooled connection must sync.
func (c lazy) release() {
	if _, err := c.ExecContext(context.Background(), "PRAGMA synchronous = FULL"); err != nil {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
	}
	c.Close()
}

// Open opens the database at path, creating it (directory mode 0700, file
// mode 0600) and bringing its schema up to date.
//
// Durability: the database runs in WAL mode with synchronous=FULL. A commit
// appends the transaction to the write-ahead log and fsyncs the log before
// it returns, so once AddBans returns nil the ban is on disk: a kill -9
// (which only loses the process, never the kernel's page cache) and even a
// power cut lose nothing committed. synchronous=NORMAL would survive kill -9
// too but could lose the last commits on power loss; the extra fsync costs
// little because bans are written in batches, one transaction per batch.
// The event history is the exception: it is written with synchronous=NORMAL
// (an fsync per history transaction was most of its cost), so a power cut
// can lose its last events, never a ban (the log is synced up to every
// ban's commit, and with it the events before).
// busy_timeout makes concurrent writers wait for each other instead of
// failing, and write transactions take the write lock when they begin
// (_txlock=immediate) so that they never fail halfway on a lock upgrade.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// WAL lets readers run beside the one writer; a few connections are
	// plenty for a daemon and its control socket.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, now: time.Now, path: path}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		if ce := s.checkCorrupt(err); ce != err {
			return nil, ce
		}
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// Check runs SQLite's integrity check and returns an error describing any
// corruption found.
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("store: integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store: integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
}

// listMigrations returns the embedded migrations in order. Their names are
// NNNN_description.sql; NNNN is the schema version they lead to.
func listMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := filepath.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a version number and _", base)
		}
		ms = append(ms, migration{version: v, name: n})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies every migration newer than the database's schema version,
// each in its own transaction together with the version bump, so running it
// again (or after a crash halfway) is harmless.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := listMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m, len(ms)); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless the database already has it.
func (s *Store) apply(ctx context.Context, m migration, latest int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var current int
	err = tx.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (0)"); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("schema version: %w", err)
	}
	if current > latest {
		return fmt.Errorf("schema version %d is newer than this rampart knows (%d)", current, latest)
	}
	if current >= m.version {
		return nil
	}
	body, err := migrations.ReadFile(m.name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("migration %s: %w", filepath.Base(m.name), err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE schema_version SET version = ?", m.version); err != nil {
		return fmt.Errorf("migration %s: %w", filepath.Base(m.name), err)
	}
	return tx.Commit()
}

// nanos encodes a time for the database; the zero time is NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNanos decodes a time from the database; NULL is the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
