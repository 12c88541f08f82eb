package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/control"
)

// fleetPage is the fleet page's data: the link's state, or why there is
// none.
type fleetPage struct {
	// Off says the fleet is not configured (the daemon's reason); Status
	// is then empty.
	Off    string
	Status control.FleetStatus
	Nodes  []fleetNode
}

// fleetNode is one node's row.
type fleetNode struct {
	control.FleetNode
	Self     bool
	Rejected int    // bans of this node this one refused
	Why      string // "reason: count, …"
}

func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, http.StatusBadRequest, "this page takes no parameters")
		return
	}
	st, err := s.be.FleetStatus(r.Context())
	if errors.Is(err, control.ErrNotFound) {
		s.render(w, r, http.StatusOK, "fleet", "Fleet", fleetPage{Off: err.Error()})
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	p := fleetPage{Status: st}
	for _, n := range st.Nodes {
		fn := fleetNode{FleetNode: n, Self: n.Node == st.Node}
		var why []string
		for _, k := range slices.Sorted(maps.Keys(n.Rejected)) {
			fn.Rejected += int(n.Rejected[k])
			why = append(why, k+": "+strconv.FormatUint(n.Rejected[k], 10))
		}
		fn.Why = strings.Join(why, ", ")
		p.Nodes = append(p.Nodes, fn)
	}
	slices.SortFunc(p.Nodes, func(a, b fleetNode) int {
		if a.Self != b.Self { // this node first
			if a.Self {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Node, b.Node)
	})
	s.render(w, r, http.StatusOK, "fleet", "Fleet", p)
}
