package control

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
)

// History is the part of the API that serves the event history; a daemon
// without one answers 404 on its routes.
type History interface {
	// Events returns the stored events req selects, oldest first.
	Events(ctx context.Context, req EventsRequest) ([]Event, error)
	// Follow calls send with each new event req selects until ctx is done
	// or send fails.
	Follow(ctx context.Context, req EventsRequest, send func(Event) error) error
	// Why explains the bans of addr, or why it is not banned.
	Why(ctx context.Context, addr netip.Addr) (WhyReply, error)
}

// Event is an event of the history; ID is 0 for a followed event not yet
// stored.
type Event struct {
	ID int64 `json:"id,omitempty"`
	event.Event
}

// EventsRequest selects events (the query of GET /v1/events).
type EventsRequest struct {
	Since time.Time    `json:"since,omitzero"`
	Kinds []event.Kind `json:"kinds,omitempty"`
	Addr  netip.Addr   `json:"ip,omitzero"`
	Jail  string       `json:"jail,omitempty"`
	// Limit caps the events returned (the newest are kept); 0 means 1000.
	Limit int `json:"limit,omitempty"`
}

// Matches reports whether e is one req selects (for followed events).
func (req EventsRequest) Matches(e event.Event) bool {
	if !req.Since.IsZero() && e.Time.Before(req.Since) {
		return false
	}
	if req.Jail != "" && e.Jail != req.Jail {
		return false
	}
	if req.Addr.IsValid() && (!e.Prefix.IsValid() || !e.Prefix.Contains(req.Addr)) {
		return false
	}
	if len(req.Kinds) == 0 {
		return true
	}
	for _, k := range req.Kinds {
		if k == e.Kind {
			return true
		}
	}
	return false
}

// query writes req as URL query values.
func (req EventsRequest) query() url.Values {
	q := url.Values{}
	if !req.Since.IsZero() {
		q.Set("since", req.Since.UTC().Format(time.RFC3339Nano))
	}
	var kinds []string
	for _, k := range req.Kinds {
		kinds = append(kinds, k.String())
	}
	if len(kinds) > 0 {
		q.Set("kind", strings.Join(kinds, ","))
	}
	if req.Addr.IsValid() {
		q.Set("ip", req.Addr.String())
	}
	if req.Jail != "" {
		q.Set("jail", req.Jail)
	}
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	return q
}

// maxEventsLimit bounds one page of events.
const maxEventsLimit = 100000

// parseEventsRequest reads the query of GET /v1/events.
func parseEventsRequest(q url.Values) (EventsRequest, error) {
	var req EventsRequest
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return req, Errorf(ErrInvalid, "since %q: want an RFC 3339 time", s)
		}
		req.Since = t
	}
	if s := q.Get("kind"); s != "" {
		for _, k := range strings.Split(s, ",") {
			var kind event.Kind
			if err := kind.UnmarshalText([]byte(k)); err != nil {
				return req, Errorf(ErrInvalid, "%v", err)
			}
			req.Kinds = append(req.Kinds, kind)
		}
	}
	if s := q.Get("ip"); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return req, Errorf(ErrInvalid, "ip %q: not an address", s)
		}
		req.Addr = a.Unmap()
	}
	req.Jail = q.Get("jail")
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEventsLimit {
			return req, Errorf(ErrInvalid, "limit %q: want 1 to %d", s, maxEventsLimit)
		}
		req.Limit = n
	}
	return req, nil
}

// EventsReply is the body of GET /v1/events.
type EventsReply struct {
	Events []Event `json:"events"`
}

// WhyReply is the body of GET /v1/why: everything rampart knows of an
// address.
type WhyReply struct {
	Addr netip.Addr `json:"ip"`
	// Bans are the active bans covering the address, with their origins.
	Bans []BannedEntry `json:"bans"`
	// Ignored names the jails whose ignore lists hold the address (they
	// never ban it).
	Ignored []string `json:"ignored_by,omitempty"`
	// Blocklists names the lists in force that hold the address (origin
	// "blocklist NAME": the kernel drops it while it is listed).
	Blocklists []string `json:"blocklists,omitempty"`
	// History lists its past bans, oldest first.
	History []BannedEntry `json:"history"`
	// Next is what each jail would do with it next: how many earlier bans
	// count, and how long its next ban would last (bantime.increment).
	Next []NextBan `json:"next"`
	// Events are its last events: findings with the log lines that caused
	// them, bans, unbans, expiries.
	Events []Event `json:"events"`
}

// NextBan is a jail's next ban of an address.
type NextBan struct {
	Jail string `json:"jail"`
	// Count is how many earlier bans make this one's ban time grow.
	Count int `json:"count"`
	// DurationSeconds is the next ban's length; -1 is permanent.
	DurationSeconds int64 `json:"duration_seconds"`
}

func (s *Server) history(w http.ResponseWriter) (History, bool) {
	h, ok := s.api.(History)
	if !ok {
		writeError(w, http.StatusNotFound, "this daemon keeps no event history")
	}
	return h, ok
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	h, ok := s.history(w)
	if !ok || !query(w, r, "since", "kind", "ip", "jail", "limit", "follow") {
		return
	}
	req, err := parseEventsRequest(r.URL.Query())
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	if f := r.URL.Query().Get("follow"); f != "" {
		if f != "1" {
			writeError(w, http.StatusBadRequest, `follow: want "1"`)
			return
		}
		s.follow(w, r, h, req)
		return
	}
	evs, err := h.Events(r.Context(), req)
	if evs == nil {
		evs = []Event{}
	}
	s.reply(w, r, EventsReply{Events: evs}, err)
}

// follow streams events as JSON lines, flushed one by one, until the
// client goes or the daemon stops.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, h History, req EventsRequest) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming not supported")
		return
	}
	rc := streaming(w)
	wd := s.Limits.withDefaults().WriteTimeout
	w.Header().Set("Content-Type", "application/x-ndjson")
	streamWrite(rc, wd)
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	enc := json.NewEncoder(w)
	_ = h.Follow(r.Context(), req, func(e Event) error {
		streamWrite(rc, wd)
		if err := enc.Encode(e); err != nil {
			return err
		}
		fl.Flush()
		return nil
	})
}

func (s *Server) why(w http.ResponseWriter, r *http.Request) {
	h, ok := s.history(w)
	if !ok || !query(w, r, "ip") {
		return
	}
	a, err := netip.ParseAddr(r.URL.Query().Get("ip"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("ip %q: not an address", r.URL.Query().Get("ip")))
		return
	}
	rep, err := h.Why(r.Context(), a.Unmap())
	s.reply(w, r, rep, err)
}

// Events returns stored events.
func (c *Client) Events(ctx context.Context, req EventsRequest) ([]Event, error) {
	var r EventsReply
	return r.Events, c.do(ctx, http.MethodGet, "/v1/events", req.query(), nil, &r)
}

// Follow streams new events to send until ctx is done, send fails or the
// daemon stops.
func (c *Client) Follow(ctx context.Context, req EventsRequest, send func(Event) error) error {
	q := req.query()
	q.Set("follow", "1")
	resp, err := c.get(ctx, "/v1/events", q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("event stream: %w", err)
		}
		if err := send(e); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// Why explains an address.
func (c *Client) Why(ctx context.Context, a netip.Addr) (WhyReply, error) {
	var r WhyReply
	return r, c.do(ctx, http.MethodGet, "/v1/why", url.Values{"ip": {a.String()}}, nil, &r)
}
