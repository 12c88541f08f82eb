package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
)

// streamEvent is one event as the page's script gets it: the event, and
// the summary the server writes (so that the script builds no text of its
// own).
type streamEvent struct {
	control.Event
	Summary string `json:"summary"`
	// DisplayPath is Path as the page shows it (quoted when it holds
	// bytes that do not print).
	DisplayPath string `json:"display_path,omitempty"`
}

// keepalive is how often an idle stream sends a comment, so that proxies
// and the browser keep it open.
const keepalive = 25 * time.Second

// stream serves the events the query selects as they happen, as
// Server-Sent Events, until the browser goes or the daemon stops.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	eq, err := parseEventsQuery(r.URL.Query())
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.Error(w, "400 "+err.Error(), http.StatusBadRequest)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "500 streaming not supported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	ctx := r.Context()
	evs := make(chan control.Event, 256)
	done := make(chan error, 1)
	go func() {
		done <- s.be.Follow(ctx, eq.EventsRequest, func(e control.Event) error {
			select {
			case evs <- e:
			default: // the browser is too slow: it loses this one
			}
			return nil
		})
	}()
	tick := time.NewTicker(keepalive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			fl.Flush()
		case e := <-evs:
			b, err := json.Marshal(streamEvent{Event: e, Summary: eventSummary(e.Event), DisplayPath: displayPath(e.Path)})
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
