package daemon

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/alert"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/store"
)

// buildAlerts makes the configured alerts; a password file that cannot be
// read refuses the configuration.
func (d *Daemon) buildAlerts(cfgs []config.Alert, web config.Web) ([]*alert.Alert, error) {
	host, _ := os.Hostname()
	link := ""
	if web.Listen != "" {
		scheme := "http"
		if web.TLSCert != "" {
			scheme = "https"
		}
		link = scheme + "://" + web.Listen + "/"
	}
	var out []*alert.Alert
	for _, c := range cfgs {
		var s alert.Sender
		switch c.Type {
		case "webhook":
			s = alert.Webhook{URL: c.URL}
		case "slack":
			s = alert.Slack{URL: c.URL}
		case "ntfy":
			s = alert.Ntfy{URL: c.URL}
		case "email":
			e := alert.Email{Addr: c.SMTP, From: c.From, To: c.To, Username: c.Username, TLS: c.TLS}
			if c.PasswordFile != "" {
				b, err := os.ReadFile(c.PasswordFile)
				if err != nil {
					return nil, fmt.Errorf("alert %q: password_file: %w", c.Name, err)
				}
				e.Password = strings.TrimRight(string(b), "\r\n")
			}
			s = e
		default:
			return nil, fmt.Errorf("alert %q: unknown type %q", c.Name, c.Type)
		}
		var kinds []event.Kind
		for _, k := range c.Kinds {
			if kind, ok := event.ParseKind(k); ok {
				kinds = append(kinds, kind)
			}
		}
		am := d.met.Alert(c.Name)
		ac := alert.Config{
			Name: c.Name, Sender: s, Kinds: kinds, Jails: c.Jails, Digest: c.Digest, Host: host, Link: link, Log: d.log,
			OnSent: am.Sent, OnFailed: am.Failed, OnDropped: am.Dropped,
			MinSeverity: c.MinSeverity, AuditBelow: c.AuditBelow, AuditDrop: c.AuditDrop,
		}
		if slices.Contains(kinds, event.AuditResult) {
			ac.PreviousScore = d.auditScoreBefore
		}
		out = append(out, alert.New(ac))
	}
	return out, nil
}

// alertsEvents offers every event to the running alerts.
func (d *Daemon) alertsEvents(_ context.Context, evs []event.Event) {
	d.mu.Lock()
	as := d.alerts
	d.mu.Unlock()
	for _, a := range as {
		a.Offer(evs)
	}
}

// alertComponents run the alerts' senders.
func alertComponents(as []*alert.Alert) []component {
	out := make([]component, 0, len(as))
	for _, a := range as {
		out = append(out, component{"alert " + a.Name(), a.Run})
	}
	return out
}

// alertKinds are the event kinds some alert carries (a reload, which no
// alert needs to see, when there are none: the subscription then holds
// nothing).
func alertKinds(cfgs []config.Alert) []event.Kind {
	var out []event.Kind
	for _, c := range cfgs {
		for _, k := range c.Kinds {
			if kind, ok := event.ParseKind(k); ok && !slices.Contains(out, kind) {
				out = append(out, kind)
			}
		}
	}
	if len(out) == 0 {
		return []event.Kind{event.Reload}
	}
	return out
}

// swapAlerts replaces the running alerts (a reload changed [alerts]): the
// new ones take the events from now on, the old ones send what they hold.
func (d *Daemon) swapAlerts(as []*alert.Alert, kinds []event.Kind, fatal chan<- error) {
	if d.alertSub != nil {
		d.alertSub.SetKinds(kinds...)
	}
	d.mu.Lock()
	old := d.alertStage
	d.alerts, d.alertStage = as, startStage("alerts", alertComponents(as), fatal)
	d.mu.Unlock()
	old.stop()
}

// auditScoreBefore is the score of the newest audit result in the
// history before t that has one (an audit that did not run has none), so
// that a score drop is seen across a restart.
func (d *Daemon) auditScoreBefore(t time.Time) (int, bool) {
	if d.store == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	evs, err := d.store.Events(ctx, store.EventQuery{Kinds: []string{event.AuditResult.String()}, Until: t, Limit: 20})
	if err != nil {
		d.log.Warn("alerts: the previous audit score is not known; a score drop is judged from the next audit on", "err", err)
		return 0, false
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Err == "" {
			return evs[i].Score, true
		}
	}
	return 0, false
}
