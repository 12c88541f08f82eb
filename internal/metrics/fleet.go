package metrics

import "github.com/prometheus/client_golang/prometheus"

// FleetNode is one node's counters, as the fleet link keeps them.
type FleetNode struct {
	Node     string
	Sent     uint64
	Received uint64
	Rejected map[string]uint64 // by reason: prefix, rate, ignoreip, node, invalid
}

// FleetSnapshot is the fleet link's state at a scrape.
type FleetSnapshot struct {
	Connected     bool
	Lag           uint64
	LastSeq       uint64
	Outbox        int
	OutboxDropped uint64
	FleetBans     int
	Nodes         []FleetNode
}

// fleetCollector reads a snapshot at every scrape: the counters live in
// the fleet link, and label values are node names (the fleet's size bounds
// them).
type fleetCollector struct {
	snap func() FleetSnapshot

	connected, lag, lastSeq, outbox, outboxDropped, bans *prometheus.Desc
	sent, received, rejected                             *prometheus.Desc
}

// Fleet registers the rampart_fleet_* collectors, fed by snap.
func (m *Metrics) Fleet(snap func() FleetSnapshot) {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("rampart_fleet_"+name, help, labels, nil)
	}
	m.reg.MustRegister(&fleetCollector{
		snap:          snap,
		connected:     d("connected", "1 when connected to a NATS server."),
		lag:           d("stream_lag_messages", "Stream messages not yet applied here."),
		lastSeq:       d("last_sequence", "The last stream sequence applied here."),
		outbox:        d("outbox_messages", "Local bans and unbans waiting to be published."),
		outboxDropped: d("outbox_dropped_total", "Local bans and unbans dropped because the outbox was full."),
		bans:          d("active_bans", "Bans received from the fleet in force here."),
		sent:          d("sent_total", "Bans and unbans this node published (acknowledged by the stream).", "node"),
		received:      d("received_total", "Bans and unbans received from a node and applied.", "node"),
		rejected:      d("rejected_total", "Received bans not enforced, by node and reason.", "node", "reason"),
	})
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.lag, c.lastSeq, c.outbox, c.outboxDropped, c.bans, c.sent, c.received, c.rejected} {
		ch <- d
	}
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap()
	conn := 0.0
	if s.Connected {
		conn = 1
	}
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, conn)
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(s.Lag))
	ch <- prometheus.MustNewConstMetric(c.lastSeq, prometheus.GaugeValue, float64(s.LastSeq))
	ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(s.Outbox))
	ch <- prometheus.MustNewConstMetric(c.outboxDropped, prometheus.CounterValue, float64(s.OutboxDropped))
	ch <- prometheus.MustNewConstMetric(c.bans, prometheus.GaugeValue, float64(s.FleetBans))
	for _, n := range s.Nodes {
		if n.Sent > 0 {
			ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(n.Sent), n.Node)
		}
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(n.Received), n.Node)
		for reason, v := range n.Rejected {
			ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(v), n.Node, reason)
		}
	}
}
