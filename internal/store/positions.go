package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Position is the saved read position of one followed file or journal. Its
// fields match logsource.Position one for one, so the daemon converts
// between the two with a plain type conversion.
type Position struct {
	// Key names what the position belongs to.
	Key string
	// Dev and Inode identify the file; stored bit for bit as signed 64-bit
	// integers.
	Dev, Inode uint64
	// Offset is the byte offset to resume reading at.
	Offset int64
	// Fingerprint identifies the file's first FingerprintLen bytes.
	Fingerprint    string
	FingerprintLen int
	// Cursor is a journald cursor (journal positions only).
	Cursor string
}

// Position returns the position saved under key, and false if none is.
func (s *Store) Position(ctx context.Context, key string) (Position, bool, error) {
	p := Position{Key: key}
	var dev, inode int64
	err := s.db.QueryRowContext(ctx,
		"SELECT dev, inode, offset, fingerprint, fingerprint_len, cursor FROM positions WHERE key = ?", key).
		Scan(&dev, &inode, &p.Offset, &p.Fingerprint, &p.FingerprintLen, &p.Cursor)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Position{}, false, nil
	case err != nil:
		return Position{}, false, fmt.Errorf("store: position %q: %w", key, err)
	}
	p.Dev, p.Inode = uint64(dev), uint64(inode)
	return p, true, nil
}

// SavePositions saves positions, replacing those with the same keys, in one
// transaction.
func (s *Store) SavePositions(ctx context.Context, positions []Position) error {
	defer s.writingLater()()
	if len(positions) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save positions: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO positions
		(key, dev, inode, offset, fingerprint, fingerprint_len, cursor, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("store: save positions: %w", err)
	}
	defer stmt.Close()
	now := s.now().UnixNano()
	for _, p := range positions {
		if _, err := stmt.ExecContext(ctx, p.Key, int64(p.Dev), int64(p.Inode), p.Offset, p.Fingerprint, p.FingerprintLen, p.Cursor, now); err != nil {
			return fmt.Errorf("store: save position %q: %w", p.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save positions: %w", err)
	}
	return nil
}

// Cursor returns the journald cursor saved under key, and false if none is.
func (s *Store) Cursor(ctx context.Context, key string) (string, bool, error) {
	var c string
	err := s.db.QueryRowContext(ctx, "SELECT cursor FROM cursors WHERE key = ?", key).Scan(&c)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("store: cursor %q: %w", key, err)
	}
	return c, true, nil
}

// SaveCursor saves a journald cursor under key.
func (s *Store) SaveCursor(ctx context.Context, key, cursor string) error {
	defer s.writingLater()()
	_, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO cursors (key, cursor, updated) VALUES (?, ?, ?)",
		key, cursor, s.now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: save cursor %q: %w", key, err)
	}
	return nil
}
