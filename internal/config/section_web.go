package config

import (
	"net"
	"net/netip"
	"time"
)

// Web is the [web] table: the dashboard the daemon serves.
type Web struct {
	// Listen is host:port; empty: the dashboard is off.
	Listen string
	// TLSCert and TLSKey are PEM files; both or neither. Required for an
	// address that is not loopback.
	TLSCert, TLSKey string
	// Session is how long a login lasts.
	Session time.Duration
}

// webSection is [web]: the dashboard.
type webSection struct{}

func (webSection) name() string { return "web" }

func (webSection) decode(d *decoder, t *node, c *Config) {
	c.Web = defaults(webKeys())
	if t == nil {
		return
	}
	decodeTable(d, t, webKeys(), &c.Web, nil)
	w := &c.Web
	if (w.TLSCert == "") != (w.TLSKey == "") {
		n := t.kids["tls_cert"]
		if n == nil {
			n = t.kids["tls_key"]
		}
		d.fail(n, "give both tls_cert and tls_key, or neither")
		return
	}
	if n := t.kids["listen"]; n != nil && w.Listen != "" && w.TLSCert == "" && !IsLoopback(w.Listen) {
		d.fail(n, "%q is not a loopback address: the dashboard is served there only over TLS (set tls_cert and tls_key), or listen on 127.0.0.1", w.Listen)
	}
}

func (webSection) show(c *Config) any { return showTable(webKeys(), &c.Web) }

// IsLoopback reports whether host:port listens only on loopback.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// webKeys declares the keys of [web].
func webKeys() []key[Web] {
	return []key[Web]{
		{
			name: "listen", typ: "string", def: "", defDoc: "`\"\"` (off)",
			doc: "`host:port` of the dashboard, e.g. `127.0.0.1:9191`; an address that is not loopback needs `tls_cert` and `tls_key`. Read at start (a reload does not move it)",
			decode: func(d *decoder, n *node, v *Web) {
				s, ok := d.str(n)
				if ok && s != "" {
					if err := checkListen(s); err != nil {
						d.fail(n, "%q %v (use host:port, e.g. 127.0.0.1:9191, or \"\" for off)", s, err)
					}
				}
				v.Listen = s
			},
			show: func(v *Web) any { return v.Listen },
		},
		{
			name: "tls_cert", typ: "path", def: "", defDoc: "`\"\"` (plain HTTP)",
			doc: "PEM certificate chain for HTTPS; with `tls_key`. Session cookies are then `Secure`",
			decode: func(d *decoder, n *node, v *Web) {
				if s, ok := d.str(n); ok && s != "" {
					v.TLSCert, _ = d.absPath(n)
				}
			},
			show: func(v *Web) any { return v.TLSCert },
		},
		{
			name: "tls_key", typ: "path", def: "", defDoc: "`\"\"`",
			doc: "PEM private key of `tls_cert`",
			decode: func(d *decoder, n *node, v *Web) {
				if s, ok := d.str(n); ok && s != "" {
					v.TLSKey, _ = d.absPath(n)
				}
			},
			show: func(v *Web) any { return v.TLSKey },
		},
		{
			name: "session", typ: "duration", def: "12h",
			doc: "how long a login lasts (`5m` … `7d`); then `rampart web url` again",
			decode: func(d *decoder, n *node, v *Web) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < 5*time.Minute || t > 7*24*time.Hour {
					d.fail(n, "must be between 5m and 7d")
					return
				}
				v.Session = t
			},
			show: func(v *Web) any { return FormatDuration(v.Session) },
		},
	}
}
