package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// MaxRequestBytes bounds a request body.
const MaxRequestBytes = 64 << 10

// Server serves the control API on a unix socket. Set its fields before
// Serve.
type Server struct {
	api API
	log *slog.Logger

	// AllowedUIDs are the peer user ids (from SO_PEERCRED) allowed to use
	// the socket; nil means root only.
	AllowedUIDs []uint32
	// SocketMode is the socket file's mode; 0 means 0600 (0660 with a
	// ReadGroup).
	SocketMode fs.FileMode
	// ReadGroup, when not -1, is a group whose members (primary or
	// supplementary, from SO_PEERCRED and /proc/PID/status) may read
	// through the socket (GET: ping, status, banned, events, why, fleet)
	// but not ban, unban, reload or mint dashboard tokens. The socket file
	// is given to the group. NewServer sets -1.
	ReadGroup int
	// Version is reported by ping.
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnListen, if set, is called once the socket is in place and accepts
	// connections: the moment to tell systemd READY=1.
	OnListen func()
	// Limits are the socket's timeouts (zero: 30 s to read a request, 30 s
	// for each write of a reply, 60 s idle).
	Limits Limits

	started time.Time
}

// NewServer returns a Server answering with api.
func NewServer(api API, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{api: api, log: log, ReadGroup: -1}
}

// peerKey carries the peer's credentials in a connection's context.
type peerKey struct{}

// peer is who is on the other end of the socket.
type peer struct {
	uid, gid uint32
	pid      int32
}

// Serve listens on socketPath until ctx is done. It creates the parent
// directory (0755), replaces a stale socket but refuses to take over a live
// one, and binds under a temporary name that is renamed into place after
// the mode is set, so the socket is never reachable with a looser mode.
func (s *Server) Serve(ctx context.Context, socketPath string) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	s.started = s.Now()
	mode := s.SocketMode
	if mode == 0 {
		mode = 0o600
		if s.ReadGroup >= 0 {
			mode = 0o660
		}
	}
	if err := os.MkdirAll(filepath.Dir(socketPath), 0o755); err != nil {
		return fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	if err := removeStale(socketPath); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(socketPath), fmt.Sprintf(".%s.%d", filepath.Base(socketPath), os.Getpid()))
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	ln.SetUnlinkOnClose(false)
	if s.ReadGroup >= 0 {
		if err := os.Chown(tmp, -1, s.ReadGroup); err != nil {
			ln.Close()
			os.Remove(tmp)
			return fmt.Errorf("control socket %s: give it to group %d: %w", socketPath, s.ReadGroup, err)
		}
	}
	if err := os.Chmod(tmp, mode); err != nil {
		ln.Close()
		os.Remove(tmp)
		return fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	if err := os.Rename(tmp, socketPath); err != nil {
		ln.Close()
		os.Remove(tmp)
		return fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	lim := s.Limits.withDefaults()
	srv := &http.Server{
		Handler:           s.handler(true),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// Requests end with the daemon: an events --follow stream too.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(*peerConn); ok && pc.known {
				return context.WithValue(ctx, peerKey{}, pc.peer)
			}
			return ctx
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	var lastRefusal time.Time
	capped := &capListener{Listener: ln, admin: s.isAdmin, max: MaxReaderConns, open: map[uint32]int{},
		refused: func(uid uint32) {
			// Once a minute at most: the refusals are what a flood makes.
			if now := time.Now(); now.Sub(lastRefusal) >= time.Minute {
				lastRefusal = now
				s.log.Warn("control socket: connection refused, too many open", "uid", uid, "max", MaxReaderConns)
			}
		}}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(capped) }()
	s.log.Info("control socket listening", "path", socketPath, "mode", fmt.Sprintf("%#o", mode))
	if s.OnListen != nil {
		s.OnListen()
	}
	select {
	case err := <-errc:
		os.Remove(socketPath)
		return fmt.Errorf("control socket %s: %w", socketPath, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	os.Remove(socketPath)
	<-errc
	if err != nil {
		return fmt.Errorf("control socket %s: shutdown: %w", socketPath, err)
	}
	return nil
}

// removeStale removes a socket nobody listens on; a live socket or a file
// that is not a socket is left alone and reported.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("control socket %s: exists and is not a socket; remove it or choose another [daemon] socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another rampart is listening there; stop it first", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

// inGroup reports whether the peer's primary group, or one of its
// process's supplementary groups (/proc/PID/status), is gid.
func (p peer) inGroup(gid uint32) bool {
	if p.gid == gid {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Groups:"); ok {
			for _, f := range strings.Fields(rest) {
				if n, err := strconv.ParseUint(f, 10, 32); err == nil && uint32(n) == gid {
					return true
				}
			}
		}
	}
	return false
}

// peerOf reads the credentials of the process at the other end.
func peerOf(c net.Conn) (peer, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peer{}, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peer{}, false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return peer{}, false
	}
	return peer{uid: cred.Uid, gid: cred.Gid, pid: cred.Pid}, true
}

type route func(w http.ResponseWriter, r *http.Request)

// routes is the whole API surface: "METHOD /path" to handler.
func (s *Server) routes() map[string]route {
	return map[string]route{
		"GET /v1/ping":       s.ping,
		"GET /v1/status":     s.status,
		"POST /v1/ban":       s.ban,
		"POST /v1/unban":     s.unban,
		"GET /v1/banned":     s.banned,
		"POST /v1/reload":    s.reload,
		"GET /v1/events":     s.events,
		"GET /v1/why":        s.why,
		"POST /v1/web/token": s.webToken,
		"GET /v1/fleet":      s.fleet,
	}
}

// handler dispatches requests; with checkPeer it first refuses peers whose
// uid is not allowed.
func (s *Server) handler(checkPeer bool) http.Handler {
	routes := s.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if checkPeer {
			p, ok := r.Context().Value(peerKey{}).(peer)
			reader := ok && s.ReadGroup >= 0 && p.inGroup(uint32(s.ReadGroup))
			switch {
			case ok && s.isAdmin(p.uid):
			case reader && r.Method == http.MethodGet:
				// The read-only group reads.
			case reader:
				s.log.Warn("control request refused", "uid", p.uid, "pid", p.pid, "path", r.URL.Path, "reader", true)
				writeError(w, http.StatusForbidden, fmt.Sprintf("permission denied: uid %d is in the socket's read-only group: %s %s needs root", p.uid, r.Method, r.URL.Path))
				return
			default:
				s.log.Warn("control request refused", "uid", p.uid, "pid", p.pid, "known", ok, "path", r.URL.Path)
				writeError(w, http.StatusForbidden, fmt.Sprintf("permission denied: uid %d may not use the control socket (run as root)", p.uid))
				return
			}
		}
		h, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			var allow []string
			for k := range routes {
				if m, path, _ := strings.Cut(k, " "); path == r.URL.Path {
					allow = append(allow, m)
				}
			}
			if len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
				return
			}
			writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
			return
		}
		h(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorReply{Error: msg})
}

// reply writes v, or err with the status statusOf chooses.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		st := statusOf(err)
		if st >= 500 {
			s.log.Error("control request failed", "path", r.URL.Path, "err", err)
		}
		writeError(w, st, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decode reads a JSON body strictly: bounded, no unknown fields, nothing
// after the object.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxRequestBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

// query checks that r has no query parameters but the allowed ones.
func query(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	for k, v := range r.URL.Query() {
		if !slices.Contains(allowed, k) || len(v) != 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unexpected query parameter %q", k))
			return false
		}
	}
	return true
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	if !query(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, PingReply{Version: s.Version, PID: os.Getpid(), Started: s.started})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if !query(w, r, "jail") {
		return
	}
	rep, err := s.api.Status(r.Context(), r.URL.Query().Get("jail"))
	if rep.Jails == nil {
		rep.Jails = []JailStatus{}
	}
	s.reply(w, r, rep, err)
}

func (s *Server) ban(w http.ResponseWriter, r *http.Request) {
	var req BanRequest
	if !query(w, r) || !decode(w, r, &req) {
		return
	}
	if err := CheckBan(req); err != nil {
		s.reply(w, r, nil, err)
		return
	}
	rep, err := s.api.Ban(r.Context(), req)
	if err == nil {
		s.log.Info("manual ban", "prefix", req.Prefix, "jail", rep.Jail, "force", req.Force)
	}
	s.reply(w, r, rep, err)
}

func (s *Server) unban(w http.ResponseWriter, r *http.Request) {
	var req UnbanRequest
	if !query(w, r) || !decode(w, r, &req) {
		return
	}
	if req.All == req.Prefix.IsValid() {
		writeError(w, http.StatusBadRequest, `give either "prefix" or "all": true`)
		return
	}
	if req.Prefix.IsValid() && req.Prefix != req.Prefix.Masked() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unban %s: host bits are set (did you mean %s?)", req.Prefix, req.Prefix.Masked()))
		return
	}
	rep, err := s.api.Unban(r.Context(), req)
	if rep.Removed == nil {
		rep.Removed = []BannedEntry{}
	}
	if err == nil {
		s.log.Info("manual unban", "prefix", req.Prefix, "all", req.All, "jail", req.Jail, "removed", strconv.Itoa(len(rep.Removed)))
	}
	s.reply(w, r, rep, err)
}

func (s *Server) banned(w http.ResponseWriter, r *http.Request) {
	if !query(w, r) {
		return
	}
	bans, err := s.api.Banned(r.Context())
	if bans == nil {
		bans = []BannedEntry{}
	}
	s.reply(w, r, BannedReply{Bans: bans}, err)
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if !query(w, r) {
		return
	}
	s.reply(w, r, OKReply{OK: true}, s.api.Reload(r.Context()))
}
