package store

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
)

// CorruptError is a state database SQLite finds damaged. rampart refuses to
// run on it rather than start with no bans; the message says how to go on.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("store %s is damaged (%v); rampart will not start on it, so that no stored ban is silently lost. "+
		"To go on: stop rampart, move the file aside (mv %s %s.damaged, with its -wal and -shm files), and start again with no stored bans; "+
		"`sqlite3 %s.damaged .recover | sqlite3 %s` may bring the bans back first; or restore the file from a backup",
		e.Path, e.Err, e.Path, e.Path, e.Path, e.Path)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// SQLite's result codes for a damaged file.
const (
	sqliteCorrupt = 11 // SQLITE_CORRUPT
	sqliteNotADB  = 26 // SQLITE_NOTADB
)

// checkCorrupt wraps err in a CorruptError when SQLite says the file is
// damaged.
func (s *Store) checkCorrupt(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code()&0xff == sqliteCorrupt || se.Code()&0xff == sqliteNotADB) {
		return &CorruptError{Path: s.path, Err: err}
	}
	return err
}
