package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FleetCursor returns the last stream sequence applied from stream and the
// start of the last local ban it acknowledged; zeros when there are none.
func (s *Store) FleetCursor(ctx context.Context, stream string) (uint64, time.Time, error) {
	var seq, pub int64
	err := s.db.QueryRowContext(ctx, "SELECT seq, published FROM fleet_cursor WHERE stream = ?", stream).Scan(&seq, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: fleet cursor: %w", err)
	}
	var t time.Time
	if pub > 0 {
		t = time.Unix(0, pub)
	}
	return uint64(seq), t, nil
}

// SetFleetCursor records the last stream sequence applied.
func (s *Store) SetFleetCursor(ctx context.Context, stream string, seq uint64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO fleet_cursor (stream, seq) VALUES (?, ?)
		ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq`, stream, int64(seq))
	if err != nil {
		return fmt.Errorf("store: fleet cursor: %w", err)
	}
	return nil
}

// SetFleetPublished records the start of the last local ban the stream
// acknowledged.
func (s *Store) SetFleetPublished(ctx context.Context, stream string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO fleet_cursor (stream, published) VALUES (?, ?)
		ON CONFLICT (stream) DO UPDATE SET published = max(published, excluded.published)`, stream, t.UnixNano())
	if err != nil {
		return fmt.Errorf("store: fleet publish mark: %w", err)
	}
	return nil
}
