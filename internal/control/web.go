package control

import (
	"context"
	"net/http"
	"time"
)

// WebLogin is the part of the API that opens dashboard logins; a daemon
// without it (or with [web] off) answers 404 on POST /v1/web/token.
type WebLogin interface {
	// WebLogin mints a one-time login token for the dashboard and returns
	// the URL that uses it. ErrNotFound when the dashboard is off.
	WebLogin(ctx context.Context) (WebLoginReply, error)
}

// WebLoginReply is the body of POST /v1/web/token.
type WebLoginReply struct {
	// URL logs a browser in once, until Expires.
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

func (s *Server) webToken(w http.ResponseWriter, r *http.Request) {
	if !query(w, r) {
		return
	}
	wl, ok := s.api.(WebLogin)
	if !ok {
		writeError(w, http.StatusNotFound, "this daemon has no web dashboard")
		return
	}
	rep, err := wl.WebLogin(r.Context())
	if err == nil {
		s.log.Info("web login token minted", "by", Caller(r.Context()), "expires", rep.Expires.UTC().Format(time.RFC3339))
	}
	s.reply(w, r, rep, err)
}

// WebLogin asks the daemon for a one-time dashboard login URL.
func (c *Client) WebLogin(ctx context.Context) (WebLoginReply, error) {
	var r WebLoginReply
	return r, c.do(ctx, http.MethodPost, "/v1/web/token", nil, nil, &r)
}
