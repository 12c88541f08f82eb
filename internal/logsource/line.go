package logsource

import (
	"context"
	"time"
)

// Line is one log line handed to a Source's emit callback.
//
// Bytes is only valid until the callback returns: the source reuses the
// memory for the next line. A consumer that keeps any part of it must copy
// that part. Bytes never holds the line's trailing newline (nor a carriage
// return before it); it may hold invalid UTF-8 and NUL bytes, passed
// through unchanged.
type Line struct {
	// Source is the name of the source that read the line (FileConfig.Name
	// or JournalConfig.Name).
	Source string
	// Path is the file the line was read from, as named by the source's
	// pattern (a line read from a file that was rotated away carries the
	// name the file had when it was followed), or "journald".
	Path string
	// Bytes is the line's content, valid only during the emit call.
	Bytes []byte
	// Time is the entry's own timestamp when the source knows it (journald),
	// so a filter need not parse a date. It is zero for file lines.
	Time time.Time
	// DateLen is the length of the date the journal sources write at the
	// start of Bytes so that the line reads like a syslog file line; Time
	// already carries it, and filters match Body. 0 for file lines.
	DateLen int
	// Offset is the byte offset of the line's start in its file (0 for
	// journald).
	Offset int64
	// Backlog is true for a line that was already written when the source
	// started (catch-up reading), false for a line read live.
	Backlog bool
	// Truncated is true when the line was longer than the source's maximum
	// line length and Bytes holds only its beginning.
	Truncated bool
}

// Body is the line without the date a journal source wrote at its start:
// what a filter matches when Time is known.
func (l Line) Body() []byte { return l.Bytes[l.DateLen:] }

// Source produces log lines. Run blocks, calling emit for each line in the
// order read, never concurrently, until ctx is done; it then saves its
// position and returns nil. It returns an error only when it cannot run at
// all. A problem with one log file or with journalctl is reported through
// the source's Status and retried, never returned.
type Source interface {
	Run(ctx context.Context, emit func(Line)) error
}

// State says how a followed file or journal is doing, for `rampart status`.
type State string

// The states a Status can report.
const (
	// StateReading means the file or journal is open and followed.
	StateReading State = "reading"
	// StateMissing means no file matches the pattern (yet); it is retried.
	StateMissing State = "missing"
	// StateError means the file or journalctl failed; Err says why. It is
	// retried.
	StateError State = "error"
)

// Status describes one followed file (or the journal) for the daemon to show.
type Status struct {
	// Source is the source's name.
	Source string `json:"source"`
	// Path is the file's path, the pattern when nothing matches, or "journald".
	Path string `json:"path"`
	// State is how it is doing now.
	State State `json:"state"`
	// Err is the last error, when State is StateError (or StateMissing).
	Err string `json:"error,omitempty"`
	// Mode is how changes are noticed: "inotify", "poll" or "journalctl".
	Mode string `json:"mode"`
	// Offset is the offset after the last line handed on (files).
	Offset int64 `json:"offset"`
	// Size is the file's size when last looked at (files).
	Size int64 `json:"size"`
	// Lines counts the lines handed on since the source started.
	Lines uint64 `json:"lines"`
	// TruncatedLines counts the lines cut to the maximum line length.
	TruncatedLines uint64 `json:"truncated_lines"`
	// Rotations counts rotations, truncations and re-creations followed.
	Rotations uint64 `json:"rotations"`
	// Since is when State last changed.
	Since time.Time `json:"since"`
}
