package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
)

// Client talks to the daemon's control socket. Its methods mirror API, so
// a Client is an API too.
type Client struct {
	socket string
	hc     *http.Client
}

var _ API = (*Client)(nil)

// NewClient returns a client for the daemon listening on socketPath.
func NewClient(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		DisableCompression: true,
		MaxIdleConns:       1,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}}
}

// Error is an error reply from the daemon. It matches ErrInvalid,
// ErrNotFound, ErrRefused or ErrDenied with errors.Is, by status.
type Error struct {
	Status  int
	Message string
}

// Error returns the daemon's message.
func (e *Error) Error() string { return e.Message }

// Is maps the status back to the API errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRefused:
		return e.Status == http.StatusConflict
	case ErrDenied:
		return e.Status == http.StatusForbidden
	}
	return false
}

// do sends a request and decodes the reply into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("control socket %s: reading the reply: %w", c.socket, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("control socket %s: bad reply: %w", c.socket, err)
	}
	return nil
}

// get sends a GET whose reply the caller reads (a stream).
func (c *Client) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	return c.send(ctx, http.MethodGet, path, query, nil)
}

// send sends a request; a reply other than 200 is returned as an *Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	u := "http://rampart" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.dialError(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e ErrorReply
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("daemon answered %s", resp.Status)
	}
	if resp.StatusCode == http.StatusForbidden {
		e.Error += "; run the command as root (e.g. with sudo)"
	}
	return nil, &Error{Status: resp.StatusCode, Message: e.Error}
}

// dialError explains what to do when the socket cannot be used.
func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return Errorf(ErrDown, "no rampart daemon at %s: is rampart running? start it with `systemctl start rampart` or `rampart run`; or point --socket at it", c.socket)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return Errorf(ErrDenied, "permission denied on %s: run as root (e.g. sudo rampart ...)", c.socket)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("rampart at %s did not answer in time: %w", c.socket, err)
	}
	return fmt.Errorf("control socket %s: %w", c.socket, err)
}

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) (PingReply, error) {
	var r PingReply
	return r, c.do(ctx, http.MethodGet, "/v1/ping", nil, nil, &r)
}

// Status reports one jail, or every jail when jail is empty.
func (c *Client) Status(ctx context.Context, jail string) (StatusReply, error) {
	var q url.Values
	if jail != "" {
		q = url.Values{"jail": {jail}}
	}
	var r StatusReply
	return r, c.do(ctx, http.MethodGet, "/v1/status", q, nil, &r)
}

// Ban asks the daemon to ban req.Prefix.
func (c *Client) Ban(ctx context.Context, req BanRequest) (BanReply, error) {
	var r BanReply
	return r, c.do(ctx, http.MethodPost, "/v1/ban", nil, req, &r)
}

// Unban asks the daemon to lift a ban, or all of them.
func (c *Client) Unban(ctx context.Context, req UnbanRequest) (UnbanReply, error) {
	var r UnbanReply
	return r, c.do(ctx, http.MethodPost, "/v1/unban", nil, req, &r)
}

// Banned lists the active bans.
func (c *Client) Banned(ctx context.Context) ([]BannedEntry, error) {
	var r BannedReply
	return r.Bans, c.do(ctx, http.MethodGet, "/v1/banned", nil, nil, &r)
}

// Reload asks the daemon to re-read its configuration.
func (c *Client) Reload(ctx context.Context) error {
	var r OKReply
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil, &r)
}
