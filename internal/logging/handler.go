// Package logging formats the daemon's log: one line per record, with an
// optional time, the level unless INFO, the message and key=value
// attributes, readable in a terminal and by the built-in recidive filter.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler writes one line per record: an optional RFC 3339 time, the
// level unless it is INFO, the message, then key=value attributes. Ban
// lines read "ban jail=J ip=A until=T count=N", the format the built-in
// recidive filter matches in rampart's own log.
type Handler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	time  bool
	attrs []slog.Attr
}

// NewHandler returns a handler writing to w at level and above.
func NewHandler(w io.Writer, level slog.Level, withTime bool) *Handler {
	return &Handler{mu: &sync.Mutex{}, w: w, level: level, time: withTime}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if h.time {
		b.WriteString(r.Time.Format(time.RFC3339))
		b.WriteByte(' ')
	}
	if r.Level != slog.LevelInfo {
		b.WriteString(r.Level.String())
		b.WriteByte(' ')
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		b.WriteByte(' ')
		b.WriteString(a.Key)
		b.WriteByte('=')
		v := a.Value.Resolve().String()
		if v == "" || strings.ContainsAny(v, " \t\n\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

// WithGroup implements slog.Handler (groups are flattened).
func (h *Handler) WithGroup(string) slog.Handler { return h }
