package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/wneessen/go-mail"
)

// Webhook POSTs the message as JSON.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Send implements Sender.
func (w Webhook) Send(ctx context.Context, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return post(ctx, w.Client, w.URL, "application/json", b, nil)
}

// Slack POSTs the message's text to a Slack incoming webhook.
type Slack struct {
	URL    string
	Client *http.Client
}

// Send implements Sender.
func (s Slack) Send(ctx context.Context, m Message) error {
	b, err := json.Marshal(map[string]string{"text": "```" + m.Text + "```"})
	if err != nil {
		return err
	}
	return post(ctx, s.Client, s.URL, "application/json", b, nil)
}

// Ntfy publishes the message's text to an ntfy topic URL.
type Ntfy struct {
	URL    string
	Client *http.Client
}

// Send implements Sender.
func (n Ntfy) Send(ctx context.Context, m Message) error {
	h := map[string]string{"Title": m.Subject, "Tags": "shield", "Priority": "default"}
	if m.Counts != nil && m.Total >= 100 {
		h["Priority"] = "high"
	}
	// A critical event (a file or host change, a finding), or an audit that did not run, is
	// worth waking for.
	for _, e := range m.Events {
		if e.Severity == "critical" || (e.Kind == event.AuditResult && e.Err != "") {
			h["Priority"] = "urgent"
			break
		}
	}
	if m.Link != "" {
		h["Click"] = m.Link
	}
	return post(ctx, n.Client, n.URL, "text/plain; charset=utf-8", []byte(m.Text), h)
}

// post sends body; any status but 2xx is an error.
func post(ctx context.Context, c *http.Client, url, ctype string, body []byte, headers map[string]string) error {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "rampart")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Email sends the message by SMTP.
type Email struct {
	// Addr is the server's host:port.
	Addr     string
	From     string
	To       []string
	Username string
	Password string
	// TLS is "starttls", "tls", "opportunistic" or "none".
	TLS string
	// TLSConfig, optional, verifies the server (nil: the system's roots).
	TLSConfig *tls.Config
}

// Send implements Sender.
func (e Email) Send(ctx context.Context, m Message) error {
	host, port, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("smtp %q: %w", e.Addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("smtp %q: bad port", e.Addr)
	}
	opts := []mail.Option{mail.WithPort(p), mail.WithHELO("rampart")}
	switch e.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(e.TLSConfig))
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(e.Username), mail.WithPassword(e.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	msg := mail.NewMsg()
	if err := msg.From(e.From); err != nil {
		return fmt.Errorf("from %q: %w", e.From, err)
	}
	if err := msg.To(e.To...); err != nil {
		return fmt.Errorf("to %v: %w", e.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	return nil
}
