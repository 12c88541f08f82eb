// Package alert sends notifications of the daemon's events: a JSON
// webhook, a Slack incoming webhook, an ntfy topic or mail. Events are
// gathered into digests — a flood of 10,000 bans becomes a few messages
// that summarise it — and sent with retries on the alert's own goroutine:
// offering an event never waits on the network, and an endpoint that is
// down costs dropped messages (counted), never a slower ban.
package alert

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/event"
)

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Message is one notification: a digest of the events of a window.
type Message struct {
	Alert   string `json:"alert"`
	Host    string `json:"host"`
	Subject string `json:"subject"`
	// Text is the summary for people (mail body, Slack and ntfy text).
	Text string `json:"text"`
	// Total is how many events the message stands for.
	Total int `json:"total"`
	// Counts are the events by "kind jail" ("ban sshd": 9000).
	Counts map[string]int `json:"counts"`
	// Top are the addresses with the most events, most first.
	Top []Count `json:"top"`
	// Events lists the first events of the window (at most maxListed).
	Events []event.Event `json:"events"`
	// Link points to the dashboard, when it is on.
	Link string `json:"link,omitempty"`
}

// Count is an address and how many events name it.
type Count struct {
	Prefix netip.Prefix `json:"ip"`
	N      int          `json:"count"`
}

// Limits of a digest: what a message lists, how many addresses are
// counted, and how many single-event messages may wait (digest 0).
const (
	maxListed  = 50
	maxTop     = 10
	maxCounted = 10000
	maxSingles = 1000
	// maxEvidence bounds the evidence lines written per change or audit.
	maxEvidence = 10
)

// Config configures an Alert.
type Config struct {
	Name   string
	Sender Sender
	// Kinds selects the events that alert; Jails, when set, their jails
	// (events that belong to no jail — integrity, host and audit events, a
	// reload — are not filtered by jail).
	Kinds []event.Kind
	Jails []string
	// MinSeverity, when set ("info" … "critical"), keeps only the events
	// of that severity or above among those that carry one (findings,
	// integrity and host changes, audit results); events without a
	// severity (bans, unbans…) pass.
	MinSeverity string
	// AuditBelow and AuditDrop select audit results: when either is set,
	// a result alerts only when its score is below AuditBelow, or fell by
	// AuditDrop points or more since the previous result; an audit that
	// did not run always alerts.
	AuditBelow, AuditDrop int
	// PreviousScore, when set, gives the score of the newest audit result
	// before a time, for the first result the alert sees (the daemon reads
	// its history, so that a drop is seen across a restart).
	PreviousScore func(before time.Time) (int, bool)
	// Digest gathers events this long into one message; 0 sends each alone.
	Digest time.Duration
	Host   string
	Link   string
	Log    *slog.Logger
	// Backoff is the wait before the first retry, doubled after each; 0
	// means a second. Tries bounds the attempts per message; 0 means 5.
	Backoff time.Duration
	Tries   int
	// OnSent, OnFailed (a message given up after every try) and OnDropped
	// (events that did not fit) count for the metrics; any may be nil.
	OnSent, OnFailed func()
	OnDropped        func(n int)
}

// Alert is one configured notification target.
type Alert struct {
	cfg   Config
	ready chan struct{}

	mu      sync.Mutex
	pending digest
	singles []event.Event
	// last is the score of the last audit result offered; known says
	// whether there was one.
	last  int
	known bool
}

// digest is a window's events, summarised as they come.
type digest struct {
	total  int
	first  time.Time
	counts map[string]int
	addrs  map[netip.Prefix]int
	listed []event.Event
}

// New returns an alert; run it with Run.
func New(cfg Config) *Alert {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 5
	}
	return &Alert{cfg: cfg, ready: make(chan struct{}, 1)}
}

// Name returns the alert's name.
func (a *Alert) Name() string { return a.cfg.Name }

// Wants reports whether e is an event the alert carries by its kind, jail
// and severity (an audit result's score is judged by Offer, which knows
// the previous one).
func (a *Alert) Wants(e event.Event) bool {
	if !slices.Contains(a.cfg.Kinds, e.Kind) {
		return false
	}
	if len(a.cfg.Jails) > 0 && e.Jail != "" && !slices.Contains(a.cfg.Jails, e.Jail) {
		return false
	}
	// An audit result is judged by its score (AuditBelow, AuditDrop), not
	// its severity.
	return e.Kind == event.AuditResult || atLeast(e.Severity, a.cfg.MinSeverity)
}

// severities are the severity names, lowest first.
var severities = []string{"info", "low", "medium", "high", "critical"}

// atLeast reports whether sev is min or above; an event without a
// severity, or with one not known, passes.
func atLeast(sev, min string) bool {
	m := slices.Index(severities, min)
	s := slices.Index(severities, sev)
	return m < 0 || s < 0 || s >= m
}

// auditAlerts reports whether an audit result alerts, given the previous
// score, and says why in the event's Reason. Called with a.mu held; it
// records the score as the last one.
func (a *Alert) auditAlerts(e *event.Event) bool {
	if !a.known && a.cfg.PreviousScore != nil {
		a.last, a.known = a.cfg.PreviousScore(e.Time)
	}
	prev, known := a.last, a.known
	if e.Err != "" {
		return true // the audit did not run: no score to remember
	}
	a.last, a.known = e.Score, true
	below, drop := a.cfg.AuditBelow, a.cfg.AuditDrop
	var why []string
	if known {
		why = append(why, fmt.Sprintf("score %d, was %d", e.Score, prev))
	} else {
		why = append(why, fmt.Sprintf("score %d", e.Score))
	}
	fire := below == 0 && drop == 0
	if below > 0 && e.Score < below {
		fire = true
		why = append(why, fmt.Sprintf("below %d", below))
	}
	if drop > 0 && known && prev-e.Score >= drop {
		fire = true
		why = append(why, fmt.Sprintf("dropped %d points", prev-e.Score))
	}
	e.Reason = strings.Join(why, ", ")
	return fire
}

// Offer adds the events the alert carries to the current window. It never
// waits for the network.
func (a *Alert) Offer(evs []event.Event) {
	dropped := 0
	a.mu.Lock()
	for _, e := range evs {
		if e.Kind == event.AuditResult && slices.Contains(a.cfg.Kinds, e.Kind) && !a.auditAlerts(&e) {
			continue
		}
		if !a.Wants(e) {
			continue
		}
		if a.cfg.Digest == 0 {
			if len(a.singles) >= maxSingles {
				dropped++
				continue
			}
			a.singles = append(a.singles, e)
			continue
		}
		a.pending.add(e)
	}
	a.mu.Unlock()
	if dropped > 0 && a.cfg.OnDropped != nil {
		a.cfg.OnDropped(dropped)
	}
	select {
	case a.ready <- struct{}{}:
	default:
	}
}

func (d *digest) add(e event.Event) {
	if d.total == 0 {
		d.first = e.Time
		d.counts, d.addrs = map[string]int{}, map[netip.Prefix]int{}
	}
	d.total++
	d.counts[strings.TrimSpace(e.Kind.String()+" "+e.Jail)]++
	if e.Prefix.IsValid() {
		if _, ok := d.addrs[e.Prefix]; ok || len(d.addrs) < maxCounted {
			d.addrs[e.Prefix]++
		}
	}
	if len(d.listed) < maxListed {
		d.listed = append(d.listed, e)
	}
}

// Run sends the alert's messages until ctx is done; what is pending then
// is sent once more, briefly.
func (a *Alert) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			a.flush(fctx, 1)
			return nil
		case <-a.ready:
		}
		if a.cfg.Digest > 0 {
			// The window starts with its first event.
			select {
			case <-time.After(a.cfg.Digest):
			case <-ctx.Done():
			}
		}
		a.flush(ctx, a.cfg.Tries)
	}
}

// flush sends what is pending.
func (a *Alert) flush(ctx context.Context, tries int) {
	a.mu.Lock()
	d, singles := a.pending, a.singles
	a.pending, a.singles = digest{}, nil
	a.mu.Unlock()
	var msgs []Message
	if d.total > 0 {
		msgs = append(msgs, a.message(d))
	}
	for _, e := range singles {
		var one digest
		one.add(e)
		msgs = append(msgs, a.message(one))
	}
	for i, m := range msgs {
		if ctx.Err() != nil && tries > 1 {
			if a.cfg.OnDropped != nil {
				a.cfg.OnDropped(len(msgs) - i)
			}
			return
		}
		a.send(ctx, m, tries)
	}
}

// send tries m up to tries times, waiting Backoff, then twice as long…
func (a *Alert) send(ctx context.Context, m Message, tries int) {
	wait := a.cfg.Backoff
	for try := 1; ; try++ {
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := a.cfg.Sender.Send(sctx, m)
		cancel()
		if err == nil {
			if a.cfg.OnSent != nil {
				a.cfg.OnSent()
			}
			return
		}
		if try >= tries {
			a.cfg.Log.Error("alert not sent; giving up on this message", "alert", a.cfg.Name, "tries", try, "events", m.Total, "err", err)
			if a.cfg.OnFailed != nil {
				a.cfg.OnFailed()
			}
			return
		}
		a.cfg.Log.Warn("alert not sent; will retry", "alert", a.cfg.Name, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait *= 2
	}
}

// message summarises d.
func (a *Alert) message(d digest) Message {
	m := Message{Alert: a.cfg.Name, Host: a.cfg.Host, Total: d.total, Counts: d.counts, Events: d.listed, Link: a.cfg.Link}
	for p, n := range d.addrs {
		m.Top = append(m.Top, Count{p, n})
	}
	slices.SortFunc(m.Top, func(x, y Count) int {
		if c := cmp.Compare(y.N, x.N); c != 0 {
			return c
		}
		return x.Prefix.Addr().Compare(y.Prefix.Addr())
	})
	if len(m.Top) > maxTop {
		m.Top = m.Top[:maxTop]
	}
	if d.total == 1 {
		e := d.listed[0]
		m.Subject = fmt.Sprintf("rampart on %s: %s", a.cfg.Host, oneLine(e))
	} else {
		m.Subject = fmt.Sprintf("rampart on %s: %d events (%s)", a.cfg.Host, d.total, summary(d.counts))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", m.Subject)
	for _, k := range slices.Sorted(maps.Keys(d.counts)) {
		fmt.Fprintf(&b, "  %-28s %d\n", k, d.counts[k])
	}
	if len(m.Top) > 0 {
		b.WriteString("\nTop addresses:\n")
		for _, c := range m.Top {
			fmt.Fprintf(&b, "  %-40s %d\n", prefixText(c.Prefix), c.N)
		}
	}
	b.WriteString("\nEvents:\n")
	for _, e := range d.listed {
		fmt.Fprintf(&b, "  %s %s\n", e.Time.UTC().Format(time.RFC3339), oneLine(e))
		switch e.Kind {
		case event.IntegrityChange, event.HostChange, event.AuditResult:
			// What changed, the process, the failing checks.
			for i, l := range e.Evidence {
				if i == maxEvidence {
					fmt.Fprintf(&b, "      … and %d more\n", len(e.Evidence)-i)
					break
				}
				fmt.Fprintf(&b, "      %s\n", quotePath(l))
			}
		}
	}
	if d.total > len(d.listed) {
		fmt.Fprintf(&b, "  … and %d more\n", d.total-len(d.listed))
	}
	if m.Link != "" {
		fmt.Fprintf(&b, "\nDashboard: %s\n", m.Link)
	}
	m.Text = b.String()
	return m
}

// summary lists the counts, largest first: "9000 ban sshd, 3 unban sshd".
func summary(counts map[string]int) string {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(x, y string) int {
		if c := cmp.Compare(counts[y], counts[x]); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	var parts []string
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, ", ")
}

// oneLine describes one event.
func oneLine(e event.Event) string {
	switch e.Kind {
	case event.IntegrityChange, event.HostChange:
		s := fmt.Sprintf("%s %s %s: %s", e.Kind, e.Rule, quotePath(e.Path), e.Reason)
		if e.Severity != "" {
			s += " (" + e.Severity + ")"
		}
		return s
	case event.AuditResult:
		if e.Err != "" {
			return "audit-result: the audit did not run: " + e.Err
		}
		s := fmt.Sprintf("audit-result: %d failing check%s", e.Count, plural(e.Count))
		if e.Reason != "" {
			s += " (" + e.Reason + ")"
		} else {
			s += fmt.Sprintf(" (score %d)", e.Score)
		}
		return s
	case event.PolicyApplied:
		return fmt.Sprintf("policy: baseline %s (%d rules)", e.Reason, e.Count)
	}
	s := e.Kind.String()
	if e.Prefix.IsValid() {
		s += " " + prefixText(e.Prefix)
	}
	if e.Jail != "" {
		s += " in " + e.Jail
	}
	if e.Origin != "" && e.Origin != "jail "+e.Jail {
		s += " (" + e.Origin + ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != "" {
		s += ": " + e.Err
	}
	return s
}

func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// quotePath writes a path as it can be read, and safely in a mail's
// subject: quoted with escapes when it holds anything that does not print
// (a newline would otherwise start a header of its own).
func quotePath(p string) string {
	if utf8.ValidString(p) && !strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsGraphic(r) }) {
		return p
	}
	return strconv.QuoteToGraphic(p)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
