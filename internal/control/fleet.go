package control

import (
	"context"
	"net/http"
	"time"
)

// FleetAPI is what a daemon with a fleet link answers (GET /v1/fleet).
// A daemon whose API lacks it, or whose [fleet] is off, answers 404.
type FleetAPI interface {
	FleetStatus(ctx context.Context) (FleetStatus, error)
}

// FleetStatus is the fleet link's state, as `rampart fleet status` shows it.
type FleetStatus struct {
	Node      string `json:"node"`
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"`
	Stream    string `json:"stream"`
	// LastSeq is the last stream sequence applied on this node; StreamSeq
	// the stream's last; Lag the difference.
	LastSeq       uint64      `json:"last_seq"`
	StreamSeq     uint64      `json:"stream_seq"`
	Lag           uint64      `json:"lag"`
	CatchingUp    bool        `json:"catching_up"`
	Outbox        int         `json:"outbox"`
	OutboxLimit   int         `json:"outbox_limit"`
	OutboxDropped uint64      `json:"outbox_dropped"`
	FleetBans     int         `json:"fleet_bans"`
	Nodes         []FleetNode `json:"nodes"`
}

// FleetNode counts one node's bans as this node saw them.
type FleetNode struct {
	Node string `json:"node"`
	// Sent is this node's own: bans and unbans the stream acknowledged.
	Sent     uint64            `json:"sent"`
	Received uint64            `json:"received"`
	Rejected map[string]uint64 `json:"rejected,omitempty"`
	Last     time.Time         `json:"last,omitzero"`
}

func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	if !query(w, r) {
		return
	}
	fa, ok := s.api.(FleetAPI)
	if !ok {
		writeError(w, http.StatusNotFound, "this daemon has no fleet link")
		return
	}
	rep, err := fa.FleetStatus(r.Context())
	if rep.Nodes == nil {
		rep.Nodes = []FleetNode{}
	}
	s.reply(w, r, rep, err)
}

// FleetStatus asks for the fleet link's state.
func (c *Client) FleetStatus(ctx context.Context) (FleetStatus, error) {
	var r FleetStatus
	return r, c.do(ctx, http.MethodGet, "/v1/fleet", nil, nil, &r)
}
