// Package control is rampart's control API: HTTP and JSON over a unix
// socket that only root may use. The daemon serves it (Server, over an
// API it implements); the CLI and the web dashboard use it (Client).
package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
)

// API is what the daemon provides to the control socket. Ping is answered
// by the Server itself.
type API interface {
	// Status reports one jail, or every jail when jail is empty.
	Status(ctx context.Context, jail string) (StatusReply, error)
	// Ban bans req.Prefix. The Server has already refused loopback, Protect
	// addresses and too-wide networks unless req.Force; the daemon must
	// still refuse a prefix in the jail's ignoreip unless req.Force, with
	// ErrRefused (the CLI exits 1 and says --force insists).
	Ban(ctx context.Context, req BanRequest) (BanReply, error)
	// Unban lifts the ban on req.Prefix, or every ban when req.All. A
	// prefix that is not banned gives an empty Removed, not an error;
	// ErrNotFound is for an unknown req.Jail.
	Unban(ctx context.Context, req UnbanRequest) (UnbanReply, error)
	// Banned lists the active bans.
	Banned(ctx context.Context) ([]BannedEntry, error)
	// Reload re-reads the configuration and applies it.
	Reload(ctx context.Context) error
}

// Errors an API returns to choose the HTTP status, through Errorf (e.g.
// Errorf(ErrNotFound, "jail %q: no such jail", j)) or wrapped with %w. The
// Client turns the status back into the same error, so errors.Is works on
// both sides.
var (
	ErrInvalid  = errors.New("invalid request")      // 400
	ErrNotFound = errors.New("not found")            // 404, e.g. an unknown jail
	ErrRefused  = errors.New("refused")              // 409, e.g. a ban on an ignored address
	ErrDenied   = errors.New("permission denied")    // 403: the peer is not root
	ErrDown     = errors.New("daemon not reachable") // the client found no daemon at the socket
)

// Errorf returns an error with the formatted message that matches kind
// (ErrInvalid, ErrNotFound, ...) with errors.Is, without adding kind's own
// text to the message. %w in format still wraps as with fmt.Errorf.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// statusOf maps an API error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrRefused):
		return http.StatusConflict
	case errors.Is(err, ErrDenied):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// Minimum prefix lengths a ban may have without Force: anything wider
// would cut off a large part of the Internet.
const (
	minPrefix4 = 8
	minPrefix6 = 16
)

// CheckBan refuses a ban that is malformed or, unless req.Force, would cut
// the operator off: loopback, an address in req.Protect, or a network wider
// than /8 (IPv4) or /16 (IPv6). The Server calls it before API.Ban; the CLI
// calls it to fail early.
func CheckBan(req BanRequest) error {
	p := req.Prefix
	if !p.IsValid() {
		return Errorf(ErrInvalid, "ban: no address given")
	}
	if p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return Errorf(ErrInvalid, "ban %s: write IPv4 addresses in IPv4 form, without a zone", p)
	}
	if p != p.Masked() {
		return Errorf(ErrInvalid, "ban %s: host bits are set (did you mean %s?)", p, p.Masked())
	}
	if req.DurationSeconds < -1 {
		return Errorf(ErrInvalid, "ban %s: duration_seconds %d: use 0 (the jail's bantime), -1 (permanent) or a positive number", p, req.DurationSeconds)
	}
	if req.Force {
		return nil
	}
	for _, lo := range []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")} {
		if p.Overlaps(lo) {
			return Errorf(ErrRefused, "ban %s: refusing to ban loopback (use --force to insist)", text(p))
		}
	}
	if p.Addr().IsUnspecified() && p.IsSingleIP() {
		return Errorf(ErrRefused, "ban %s: refusing to ban the unspecified address", text(p))
	}
	if min := map[bool]int{true: minPrefix4, false: minPrefix6}[p.Addr().Is4()]; p.Bits() < min {
		return Errorf(ErrRefused, "ban %s: refusing a network wider than /%d (use --force to insist)", text(p), min)
	}
	for _, a := range req.Protect {
		if p.Contains(a.Unmap()) {
			return Errorf(ErrRefused, "ban %s: refusing to ban %s, the address of the SSH session running this command (use --force to insist)", text(p), a.Unmap())
		}
	}
	return nil
}

// text writes a prefix as people write it: a single address without /32
// or /128.
func text(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
