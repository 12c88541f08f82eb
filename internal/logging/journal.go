package logging

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/journal"
)

// Journal writes records to the systemd journal with structured fields:
// MESSAGE is the line the text Handler writes (what the built-in recidive
// filter reads), PRIORITY follows the level, RAMPART_EVENT is the message
// as one word ("ban", "unban", "firewall-ready"…) and each attribute is a
// field RAMPART_KEY, so `journalctl -u rampart RAMPART_EVENT=ban
// RAMPART_JAIL=sshd` selects what it says.
type Journal struct {
	text  *Handler
	buf   *bytes.Buffer
	mu    *sync.Mutex
	send  func(msg string, p journal.Priority, vars map[string]string) error
	attrs []slog.Attr
}

// NewJournal returns a journal handler at level and above.
func NewJournal(level slog.Level) *Journal {
	return newJournal(level, journal.Send)
}

func newJournal(level slog.Level, send func(string, journal.Priority, map[string]string) error) *Journal {
	buf := &bytes.Buffer{}
	return &Journal{text: NewHandler(buf, level, false), buf: buf, mu: &sync.Mutex{}, send: send}
}

// JournalAvailable reports whether the journal's socket is there.
func JournalAvailable() bool { return journal.Enabled() }

// Enabled implements slog.Handler.
func (j *Journal) Enabled(ctx context.Context, l slog.Level) bool { return j.text.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (j *Journal) Handle(ctx context.Context, r slog.Record) error {
	vars := map[string]string{"RAMPART_EVENT": strings.ReplaceAll(r.Message, " ", "-"), "SYSLOG_IDENTIFIER": "rampart"}
	add := func(a slog.Attr) bool {
		vars["RAMPART_"+fieldName(a.Key)] = a.Value.Resolve().String()
		return true
	}
	for _, a := range j.attrs {
		add(a)
	}
	r.Attrs(add)
	j.mu.Lock()
	j.buf.Reset()
	if err := j.text.Handle(ctx, r); err != nil {
		j.mu.Unlock()
		return err
	}
	msg := strings.TrimSuffix(j.buf.String(), "\n")
	j.mu.Unlock()
	return j.send(msg, priority(r.Level), vars)
}

// fieldName makes an attribute key a journal field name: upper case
// letters, digits and underscores.
func fieldName(k string) string {
	b := []byte(strings.ToUpper(k))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}

// WithAttrs implements slog.Handler.
func (j *Journal) WithAttrs(as []slog.Attr) slog.Handler {
	n := *j
	n.attrs = append(append([]slog.Attr(nil), j.attrs...), as...)
	n.text = j.text.WithAttrs(as).(*Handler)
	return &n
}

// WithGroup implements slog.Handler (groups are flattened).
func (j *Journal) WithGroup(string) slog.Handler { return j }
