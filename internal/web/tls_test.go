package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rampart test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "web.crt"), filepath.Join(dir, "web.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// Over TLS the dashboard speaks HTTPS only, its login URLs say https and
// the session cookie is Secure.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	s, err := New(Config{Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile}, &fakeBackend{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener = %v", err)
		}
	}()
	for s.baseURL() != "https://"+ln.Addr().String() { // ServeListener has started
		time.Sleep(time.Millisecond)
	}
	u, _ := s.LoginURL()
	if !strings.HasPrefix(u, "https://"+ln.Addr().String()+"/login?token=") {
		t.Fatalf("LoginURL = %q, want https://%s/login?token=…", u, ln.Addr())
	}
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	r, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	cs := r.Cookies()
	if r.StatusCode != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly {
		t.Errorf("login over TLS = %d, cookies %+v; want 303 and a Secure HttpOnly cookie", r.StatusCode, cs)
	}
	// Plain HTTP on the TLS port gets no page.
	plain, err := http.Get("http://" + ln.Addr().String() + "/")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port = %d", plain.StatusCode)
		}
	}
}

func TestTLSBadFiles(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", TLSCert: "/nonexistent/web.crt", TLSKey: "/nonexistent/web.key"}, &fakeBackend{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServeListener(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "tls_cert /nonexistent/web.crt") {
		t.Errorf("ServeListener with missing files = %v, want an error naming tls_cert", err)
	}
}
