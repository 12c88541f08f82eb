package alert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/rampart-ids/rampart/internal/event"
)

// mailbox is a real SMTP server (go-smtp) that keeps what it receives.
type mailbox struct {
	mu    sync.Mutex
	mails []string
	from  []string
	rcpt  []string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: m}, nil }

type session struct {
	box    *mailbox
	authed bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "rampart" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return errors.New("authenticate first")
	}
	s.box.mu.Lock()
	s.box.from = append(s.box.from, from)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.box.mu.Lock()
	s.box.rcpt = append(s.box.rcpt, to)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, string(b))
	s.box.mu.Unlock()
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for localhost and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// A digest mailed through a real SMTP server with STARTTLS and AUTH PLAIN.
func TestEmail(t *testing.T) {
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
	a := New(Config{Name: "mail", Sender: send, Kinds: []event.Kind{event.BanAdded}, Digest: 50 * time.Millisecond, Host: "web1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	a.Offer(bans(300))
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
	cancel()
	<-done
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.mails) != 1 {
		t.Fatalf("%d mails, want 1", len(box.mails))
	}
	m := box.mails[0]
	if !strings.Contains(m, "Subject: rampart on web1: 300 events (300 ban sshd)") || !strings.Contains(m, "198.18.0.1") || box.rcpt[0] != "ops@example.com" {
		t.Errorf("mail:\n%s", m)
	}
	// Without STARTTLS support the mandatory policy refuses to send.
	plain := smtp.NewServer(box)
	plain.AllowInsecureAuth = true
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	go plain.Serve(ln2)
	defer plain.Close()
	_, port2, _ := net.SplitHostPort(ln2.Addr().String())
	send.Addr = "localhost:" + port2
	if err := send.Send(context.Background(), Message{Subject: "x", Text: "y"}); err == nil {
		t.Error("tls = starttls sent through a server without STARTTLS")
	}
}
