package control

import (
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/origin"
)

// The request and reply bodies of the control API. Addresses and networks
// are netip values, which marshal as text ("192.0.2.1", "2001:db8::/64").
// Times are RFC 3339; a zero Until (omitted) means the ban is permanent.

// PingReply is the body of GET /v1/ping.
type PingReply struct {
	Version string    `json:"version"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// StatusReply is the body of GET /v1/status.
type StatusReply struct {
	Jails []JailStatus `json:"jails"`
	// StateError is the state database's last refusal (disk full,
	// read-only) while Unstored bans in force wait to be stored: they are
	// enforced in the kernel and retried every 5 s.
	StateError string `json:"state_error,omitempty"`
	Unstored   int    `json:"unstored,omitempty"`
}

// JailStatus is one jail's counters, with Fail2ban's status meanings.
type JailStatus struct {
	Name          string         `json:"name"`
	Filter        string         `json:"filter"`
	Sources       []string       `json:"sources"`        // files or "journal: MATCH"
	FailuresNow   int            `json:"failures_now"`   // addresses with failures inside findtime
	FailuresTotal int64          `json:"failures_total"` // failures seen since start
	BannedNow     int            `json:"banned_now"`     // active bans
	BannedTotal   int64          `json:"banned_total"`   // bans since start
	Banned        []netip.Prefix `json:"banned"`         // the active bans
}

// BanRequest is the body of POST /v1/ban.
type BanRequest struct {
	Prefix netip.Prefix `json:"prefix"`         // the address (as /32 or /128) or network to ban
	Jail   string       `json:"jail,omitempty"` // empty: the daemon's manual jail
	// DurationSeconds is how long the ban lasts: 0 for the jail's bantime,
	// -1 for permanent.
	DurationSeconds int64 `json:"duration_seconds,omitempty"`
	// Force bans even loopback, an ignoreip address or a Protect address.
	Force bool `json:"force,omitempty"`
	// Protect lists addresses the ban must not cover unless Force: the CLI
	// sends the address of the SSH session it runs in.
	Protect []netip.Addr `json:"protect,omitempty"`
}

// BanReply is the body returned by POST /v1/ban.
type BanReply struct {
	Jail    string       `json:"jail"`
	Prefix  netip.Prefix `json:"prefix"`
	Until   time.Time    `json:"until,omitzero"`
	Already bool         `json:"already,omitempty"` // it was banned before this request
}

// UnbanRequest is the body of POST /v1/unban: one Prefix, or All.
type UnbanRequest struct {
	Prefix netip.Prefix `json:"prefix,omitzero"`
	All    bool         `json:"all,omitempty"`
	Jail   string       `json:"jail,omitempty"` // empty: every jail
}

// UnbanReply is the body returned by POST /v1/unban.
type UnbanReply struct {
	Removed []BannedEntry `json:"removed"`
}

// BannedEntry is one active ban.
type BannedEntry struct {
	Jail   string       `json:"jail"`
	Prefix netip.Prefix `json:"prefix"`
	Since  time.Time    `json:"since"`
	Until  time.Time    `json:"until,omitzero"`
	Count  int          `json:"count,omitempty"` // times this address was banned (bantime.increment)
	// Origin says why the ban exists: {"kind":"jail","name":"sshd"},
	// {"kind":"manual","name":"root"}, fleet, blocklist or kernel.
	Origin origin.Origin `json:"origin"`
}

// BannedReply is the body of GET /v1/banned.
type BannedReply struct {
	Bans []BannedEntry `json:"bans"`
}

// OKReply is the body of requests that return nothing else.
type OKReply struct {
	OK bool `json:"ok"`
}

// ErrorReply is the body of every 4xx and 5xx reply.
type ErrorReply struct {
	Error string `json:"error"`
}
