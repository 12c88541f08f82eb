package web

import (
	"context"
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

// readyFollower is a Reader whose Follow says when it has subscribed
// (ready is called once, before any event is sent).
type readyFollower interface {
	FollowReady(ctx context.Context, req control.EventsRequest, ready func(), send func(control.Event) error) error
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
	ctx := r.Context()
	evs := make(chan control.Event, 256)
	done := make(chan error, 1)
	send := func(e control.Event) error {
		select {
		case evs <- e:
		default: // the browser is too slow: it loses this one
		}
		return nil
	}
	if rf, ok := s.be.(readyFollower); ok {
		// Open the stream only once the backend follows: an event
		// between the page's "open" and the subscription would be lost.
		ready := make(chan struct{})
		go func() { done <- rf.FollowReady(ctx, eq.EventsRequest, func() { close(ready) }, send) }()
		select {
		case <-ready:
		case err := <-done:
			s.log.Warn("web: the live stream did not start", "err", err)
			http.Error(w, "502 the daemon's event stream did not start", http.StatusBadGateway)
			return
		case <-ctx.Done():
			return
		}
	} else {
		go func() { done <- s.be.Follow(ctx, eq.EventsRequest, send) }()
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
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
