package control

import (
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// The control socket's resource limits. Only root (and AllowedUIDs) and
// the read-only group can connect at all (the socket file's mode); these
// bound what one of them — most often a monitoring user of the read-only
// group — can hold of the daemon.
const (
	// MaxHeaderBytes bounds a request's line and headers (431 over it).
	MaxHeaderBytes = 16 << 10
	// MaxReaderConns is how many connections one non-admin peer uid may
	// hold open at once; more are closed at accept. Admins are not capped:
	// they can stop the daemon anyway, and must always get through.
	MaxReaderConns = 32

	defaultReadTimeout  = 30 * time.Second // a request's headers and body
	defaultWriteTimeout = 30 * time.Second // a reply, or a follower not reading
	defaultIdleTimeout  = 60 * time.Second // keep-alive between requests
)

// Limits are the socket's timeouts; zero fields take the defaults above.
type Limits struct {
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = defaultReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = defaultWriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = defaultIdleTimeout
	}
	return l
}

// streaming returns the controller a lasting reply (events --follow) sets
// its write deadlines with: the server's WriteTimeout runs from the request,
// so each write of a stream gets its own deadline instead (streamWrite).
func streaming(w http.ResponseWriter) *http.ResponseController {
	return http.NewResponseController(w)
}

// streamWrite gives the next write of a stream d to complete: a follower
// that stops reading is dropped after d instead of holding a goroutine and
// its buffers forever.
func streamWrite(rc *http.ResponseController, d time.Duration) {
	_ = rc.SetWriteDeadline(time.Now().Add(d))
}

// peerConn is an accepted connection with its peer's credentials, read once
// at accept.
type peerConn struct {
	net.Conn
	peer  peer
	known bool
	done  func()
	once  sync.Once
}

func (c *peerConn) Close() error {
	c.once.Do(func() {
		if c.done != nil {
			c.done()
		}
	})
	return c.Conn.Close()
}

// capListener reads each connection's peer credentials and closes at once
// the connections of a non-admin uid that already holds max.
type capListener struct {
	net.Listener
	admin func(uid uint32) bool
	max   int
	// refused is called with the uid of each connection closed at accept.
	refused func(uid uint32)

	mu   sync.Mutex
	open map[uint32]int
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p, known := peerOf(c)
		pc := &peerConn{Conn: c, peer: p, known: known}
		if !known || l.admin(p.uid) {
			return pc, nil
		}
		l.mu.Lock()
		if l.open[p.uid] >= l.max {
			l.mu.Unlock()
			c.Close()
			if l.refused != nil {
				l.refused(p.uid)
			}
			continue
		}
		l.open[p.uid]++
		l.mu.Unlock()
		uid := p.uid
		pc.done = func() {
			l.mu.Lock()
			l.open[uid]--
			if l.open[uid] <= 0 {
				delete(l.open, uid)
			}
			l.mu.Unlock()
		}
		return pc, nil
	}
}

// isAdmin reports whether uid may use the whole API.
func (s *Server) isAdmin(uid uint32) bool {
	allowed := s.AllowedUIDs
	if allowed == nil {
		allowed = []uint32{0}
	}
	return slices.Contains(allowed, uid)
}
