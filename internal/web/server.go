// Package web is rampart's dashboard: server-rendered pages (html/template,
// inline SVG charts, a little progressive JavaScript), embedded in the
// binary and served by the daemon on [web] listen.
//
// The dashboard is a client of the control API with a narrow role: it
// reads (bans, events, why) and it unbans. It cannot ban, reload or
// reconfigure: Backend has no such method. Every request but /login needs
// a session, which only a one-time token from `rampart web url` opens;
// state-changing requests also need the session's CSRF token and a
// same-origin browser request.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
)

// Reader is what the dashboard reads: the control API's read calls.
type Reader interface {
	Banned(ctx context.Context) ([]control.BannedEntry, error)
	Events(ctx context.Context, req control.EventsRequest) ([]control.Event, error)
	Follow(ctx context.Context, req control.EventsRequest, send func(control.Event) error) error
	Why(ctx context.Context, addr netip.Addr) (control.WhyReply, error)
	// FleetStatus is the fleet link's state; control.ErrNotFound when the
	// fleet is not configured.
	FleetStatus(ctx context.Context) (control.FleetStatus, error)
}

// Backend is the dashboard's role: read, and lift bans. A
// *control.Client is one; the daemon gives it one in process.
type Backend interface {
	Reader
	Unban(ctx context.Context, req control.UnbanRequest) (control.UnbanReply, error)
}

// Config is what the daemon passes in from [web].
type Config struct {
	Listen          string
	TLSCert, TLSKey string
	// Session is how long a login lasts; 0 means 12h.
	Session time.Duration
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// sessionCookie names the session's cookie.
const sessionCookie = "rampart_session"

// Server is the dashboard.
type Server struct {
	cfg   Config
	be    Backend
	log   *slog.Logger
	auth  *auth
	pages map[string]*template.Template
	tls   bool

	mu   sync.Mutex
	addr string // where it listens, once it does
	day  *dayCache
}

// New returns a dashboard over be.
func New(cfg Config, be Backend) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Session <= 0 {
		cfg.Session = 12 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, be: be, log: cfg.Log, auth: newAuth(cfg.Session, cfg.Now), pages: pages,
		tls: cfg.TLSCert != "", addr: cfg.Listen, day: &dayCache{}}
	return s, nil
}

// Handler returns the dashboard's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.HandleFunc("GET /login", s.login)
	mux.Handle("GET /static/", s.authed(http.StripPrefix("/static/", http.FileServerFS(static)).ServeHTTP))
	mux.HandleFunc("GET /{$}", s.authed(s.overview))
	mux.HandleFunc("GET /bans", s.authed(s.bans))
	mux.HandleFunc("GET /ip/{addr}", s.authed(s.why))
	mux.HandleFunc("GET /events", s.authed(s.events))
	mux.HandleFunc("GET /events/stream", s.authed(s.stream))
	mux.HandleFunc("GET /changes", s.authed(s.changes))
	mux.HandleFunc("GET /fleet", s.authed(s.fleet))
	mux.HandleFunc("POST /unban", s.authed(s.unban))
	mux.HandleFunc("POST /logout", s.authed(s.logout))
	mux.HandleFunc("/", s.authed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "no such page")
	}))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("web request refused: cross-origin", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		headers(w)
		http.Error(w, "403 forbidden: cross-origin request refused", http.StatusForbidden)
	}))
	return cop.Handler(mux)
}

// headers sets what every answer carries: no framing, no sniffing, no
// referrer (a login URL must not leak), no script but the dashboard's own.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// ctxKey carries the session in a request's context.
type ctxKey struct{}

// authed answers 401, with nothing of the daemon's, to a request without
// a live session.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		c, err := r.Cookie(sessionCookie)
		var sess session
		ok := err == nil
		if ok {
			sess, ok = s.auth.session(c.Value)
		}
		if !ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, "401 not logged in: run `rampart web url` on the server and open the URL it prints.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	}
}

// sessionOf returns the request's session (set by authed).
func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(ctxKey{}).(session)
	return s
}

// LoginURL mints a one-time login token and returns the URL that uses it,
// and when it expires.
func (s *Server) LoginURL() (string, time.Time) {
	tok, exp := s.auth.mint()
	return s.baseURL() + "/login?token=" + tok, exp
}

// baseURL is the scheme and host the dashboard is reached at: the listen
// address, or this host's name for a wildcard address.
func (s *Server) baseURL() string {
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
			if h, err := os.Hostname(); err == nil {
				host = h
			}
		}
		addr = net.JoinHostPort(host, port)
	}
	if s.tls {
		return "https://" + addr
	}
	return "http://" + addr
}

// login redeems a token: a session cookie, and on to the overview (the
// redirect takes the token out of the address bar and the history).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	headers(w)
	tok := r.URL.Query().Get("token")
	id, _, err := s.auth.redeem(tok)
	if err != nil || len(r.URL.Query()) != 1 {
		s.log.Warn("web login refused", "remote", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintln(w, "401 this login link is invalid, used or expired (they last 5 minutes and work once): run `rampart web url` again.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: int(s.cfg.Session / time.Second),
		HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("web login", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !s.checkCSRF(w, r) {
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.auth.logout(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "logged out.")
}

// checkCSRF refuses a state-changing request without the session's CSRF
// token (a form field, or the X-CSRF-Token header), on top of the
// cross-origin check every request passed.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	if !sameToken(tok, sessionOf(r).csrf) {
		s.log.Warn("web request refused: bad CSRF token", "path", r.URL.Path, "remote", r.RemoteAddr)
		s.fail(w, r, http.StatusForbidden, "this form is stale or did not come from the dashboard (CSRF token missing or wrong): reload the page")
		return false
	}
	return true
}

// Serve listens on the configured address until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("web %s: %w", s.cfg.Listen, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx is done (tests listen on port 0).
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.tls {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("web: tls_cert %s, tls_key %s: %w", s.cfg.TLSCert, s.cfg.TLSKey, err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sctx, stopStats := context.WithCancel(ctx)
	defer stopStats()
	go s.day.refresh(sctx, s.be, s.cfg.Now, func(err error) { s.log.Warn("web: counting the day's events", "err", err) })
	s.log.Info("web dashboard listening", "addr", ln.Addr().String(), "tls", s.tls)
	select {
	case err := <-errc:
		return fmt.Errorf("web %s: %w", s.cfg.Listen, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
