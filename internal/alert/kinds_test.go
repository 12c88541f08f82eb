package alert

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/event"
)

// waitCount waits until h holds n messages (or 10 s), then a little more
// to see that no more come.
func waitCount(t *testing.T, h *hook, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
}

// Integrity and host changes through a webhook, filtered by severity; the
// jails filter does not drop events that belong to no jail.
func TestChangesBySeverity(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	a := New(Config{Name: "sec", Sender: Webhook{URL: srv.URL}, Kinds: []event.Kind{event.IntegrityChange, event.HostChange},
		Jails: []string{"sshd"}, MinSeverity: "high", Host: "web1"})
	stop := run(t, a)
	now := time.Now()
	a.Offer([]event.Event{
		{Kind: event.IntegrityChange, Time: now, Rule: "fim", Path: "/usr/bin/ls", Reason: "package-upgrade", Severity: "info"},
		{Kind: event.IntegrityChange, Time: now, Rule: "fim", Path: "/etc/motd", Reason: "content", Severity: "medium"},
		{Kind: event.IntegrityChange, Time: now, Rule: "fim", Path: "/etc/passwd", Reason: "content", Severity: "high"},
		{Kind: event.HostChange, Time: now, Rule: "suid", Path: "/tmp/x\nSubject: forged", Reason: "new", Severity: "critical"},
		{Kind: event.BanAdded, Time: now, Jail: "sshd"},                      // not a kind of this alert
		{Kind: event.Finding, Time: now, Jail: "sshd", Severity: "critical"}, // neither
	})
	waitCount(t, h, 2)
	stop()
	var subjects []string
	for _, m := range h.msgs {
		subjects = append(subjects, m.Subject)
	}
	want := []string{
		"rampart on web1: integrity-change fim /etc/passwd: content (high)",
		`rampart on web1: host-change suid "/tmp/x\nSubject: forged": new (critical)`,
	}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if len(h.msgs) == 2 && (h.msgs[1].Events[0].Path != "/tmp/x\nSubject: forged" || h.msgs[1].Events[0].Severity != "critical") {
		t.Errorf("the webhook's event %+v lost its path or severity", h.msgs[1].Events[0])
	}
}

// Audit results alert on a score below a floor or a drop since the
// previous one (the first previous one from the history).
func TestAuditScoreAlerts(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	t0 := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	var asked []time.Time
	a := New(Config{Name: "audit", Sender: Webhook{URL: srv.URL}, Kinds: []event.Kind{event.AuditResult}, AuditDrop: 10, AuditBelow: 50,
		MinSeverity:   "critical", // not applied to audit results
		PreviousScore: func(before time.Time) (int, bool) { asked = append(asked, before); return 81, true }, Host: "web1"})
	stop := run(t, a)
	res := func(i, score int, err string) event.Event {
		return event.Event{Kind: event.AuditResult, Time: t0.Add(time.Duration(i) * time.Hour), Rule: "audit", Score: score, Count: 100 - score, Severity: "medium", Err: err}
	}
	for _, e := range []event.Event{
		res(0, 75, ""), // 81 → 75: a drop of 6, above 50: quiet
		res(1, 60, ""), // 75 → 60: a drop of 15
		res(2, 90, ""), // up: quiet
		res(3, 49, ""), // 90 → 49: a drop and below 50
		res(4, 0, "audit.toml:3: waive: unknown check"),
		res(5, 45, ""), // 49 → 45: below 50 (the failed run kept the last score)
	} {
		a.Offer([]event.Event{e})
	}
	waitCount(t, h, 4)
	stop()
	var got []string
	for _, m := range h.msgs {
		got = append(got, m.Subject)
	}
	want := []string{
		"rampart on web1: audit-result: 40 failing checks (score 60, was 75, dropped 15 points)",
		"rampart on web1: audit-result: 51 failing checks (score 49, was 90, below 50, dropped 41 points)",
		"rampart on web1: audit-result: the audit did not run: audit.toml:3: waive: unknown check",
		"rampart on web1: audit-result: 55 failing checks (score 45, was 49, below 50)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Time{t0}, asked); diff != "" {
		t.Errorf("the history was asked for the previous score (-want +got):\n%s", diff)
	}
	// Without audit_below and audit_drop every result alerts.
	all := New(Config{Name: "all", Sender: Webhook{URL: srv.URL}, Kinds: []event.Kind{event.AuditResult, event.PolicyApplied}})
	all.Offer([]event.Event{res(0, 99, ""), {Kind: event.PolicyApplied, Reason: "rolled back", Count: 12}})
	if len(all.singles) != 2 {
		t.Errorf("%d events to send, want both (every audit result alerts; the policy event too)", len(all.singles))
	}
	if s := oneLine(event.Event{Kind: event.PolicyApplied, Reason: "rolled back", Count: 12}); s != "policy: baseline rolled back (12 rules)" {
		t.Errorf("policy line %q", s)
	}
}

// A file change mailed through a real SMTP server (go-smtp, STARTTLS,
// AUTH): a path that tries to add a header stays in the subject's text.
func TestEmailOfAChange(t *testing.T) {
	cert, pool := selfSigned(t)
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	send := Email{Addr: "localhost:" + port, From: "rampart@example.com", To: []string{"ops@example.com"},
		Username: "rampart", Password: "s3cret", TLS: "starttls", TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
	a := New(Config{Name: "mail", Sender: send, Kinds: []event.Kind{event.IntegrityChange}, MinSeverity: "high", Host: "web1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	a.Offer([]event.Event{
		{Kind: event.IntegrityChange, Time: time.Now(), Rule: "fim", Path: "/etc/motd", Reason: "content", Severity: "medium"},
		{Kind: event.IntegrityChange, Time: time.Now(), Rule: "fim", Path: "/etc/sudoers.d/x\r\nBcc: evil@example.net", Reason: "new (tampered)", Severity: "critical",
			Evidence: []string{"process pid 4242 exe \"/usr/bin/dash\""}},
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		box.mu.Lock()
		n := len(box.mails)
		box.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.mails) != 1 {
		t.Fatalf("%d mails, want 1 (the medium change filtered out)", len(box.mails))
	}
	m := box.mails[0]
	head, body, _ := strings.Cut(m, "\r\n\r\n")
	head = strings.ReplaceAll(head, "\r\n ", " ") // unfold long headers
	if !strings.Contains(head, `Subject: rampart on web1: integrity-change fim "/etc/sudoers.d/x\r\nBcc: evil@example.net": new (tampered) (critical)`) {
		t.Errorf("mail headers:\n%s", head)
	}
	if strings.Contains(strings.ToLower(head), "\nbcc:") || len(box.rcpt) != 1 || box.rcpt[0] != "ops@example.com" {
		t.Errorf("a path added a header or a recipient: rcpt %v, headers:\n%s", box.rcpt, head)
	}
	if !strings.Contains(body, "pid 4242") || !strings.Contains(body, "critical") {
		t.Errorf("mail body:\n%s", body)
	}
}

// ntfy: a critical change is sent at priority urgent, a medium one at the
// default.
func TestNtfyPriorityOfChanges(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	n := Ntfy{URL: srv.URL}
	for _, sev := range []string{"medium", "critical"} {
		m := Message{Subject: "s", Text: "t", Total: 1, Counts: map[string]int{"integrity-change": 1},
			Events: []event.Event{{Kind: event.IntegrityChange, Path: "/etc/shadow", Severity: sev}}}
		if err := n.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got := []string{h.hdrs[0].Get("Priority"), h.hdrs[1].Get("Priority")}; got[0] != "default" || got[1] != "urgent" {
		t.Errorf("ntfy priorities %q, want default then urgent", got)
	}
}
