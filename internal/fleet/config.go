package fleet

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"strings"
	"time"
)

// Config is the [fleet] section.
type Config struct {
	Enabled bool
	// Servers are the NATS URLs to connect to (any of them; the client
	// fails over between them).
	Servers []string
	// User and PasswordFile, or CredsFile, or NKeyFile authenticate.
	User         string
	PasswordFile string
	CredsFile    string
	NKeyFile     string
	// CA, Cert and Key are PEM files for TLS (Cert and Key: client auth).
	CA, Cert, Key string
	// Node names this server in the fleet (default: the host name).
	Node string
	// Share lists the jails whose bans are published; empty: every jail
	// (manual bans are in the jail "manual").
	Share []string
	// AcceptFrom lists the nodes whose bans this node enforces: names or
	// shell patterns ("web-*"); "*" is every node.
	AcceptFrom []string
	// Stream is the JetStream stream's name (default RAMPART_BANS).
	Stream string
	// Replicas of the stream when this node creates it (default: 3 with
	// three servers or more, else 1).
	Replicas int
	// MaxAge is the stream's backstop: no message outlives it, whatever
	// its TTL (default 30 days).
	MaxAge time.Duration
	// MinPrefixV4 and MinPrefixV6 are the shortest received prefixes
	// enforced (default /16 and /32).
	MinPrefixV4, MinPrefixV6 int
	// MaxPerMinute bounds the bans received from one node in a minute
	// (default 60,000); more are rejected, counted and logged.
	MaxPerMinute int
	// IgnoreIP are networks never banned from the fleet, beside every
	// jail's ignoreip.
	IgnoreIP []netip.Prefix
	// Outbox bounds the local bans and unbans waiting to be published
	// (default 100,000); past it the oldest are dropped and counted.
	Outbox int
}

// Defaults.
const (
	DefaultStream       = "RAMPART_BANS"
	DefaultMaxAge       = 30 * 24 * time.Hour
	DefaultMaxPerMinute = 60000
	DefaultOutbox       = 100000
	DefaultMinPrefixV4  = 16
	DefaultMinPrefixV6  = 32
)

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Node == "" {
		if h, err := os.Hostname(); err == nil {
			c.Node, _, _ = strings.Cut(h, ".")
		}
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Replicas == 0 {
		c.Replicas = 1
		if len(c.Servers) >= 3 {
			c.Replicas = 3
		}
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MinPrefixV4 == 0 {
		c.MinPrefixV4 = DefaultMinPrefixV4
	}
	if c.MinPrefixV6 == 0 {
		c.MinPrefixV6 = DefaultMinPrefixV6
	}
	if c.MaxPerMinute == 0 {
		c.MaxPerMinute = DefaultMaxPerMinute
	}
	if c.Outbox == 0 {
		c.Outbox = DefaultOutbox
	}
	if len(c.AcceptFrom) == 0 {
		c.AcceptFrom = []string{"*"}
	}
	return c
}

// Validate reports what is wrong with an enabled c (after WithDefaults).
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if len(c.Servers) == 0 {
		errs = append(errs, errors.New("fleet: servers is empty (list NATS URLs, e.g. [\"nats://10.0.0.5:4222\"])"))
	}
	for _, s := range c.Servers {
		if !strings.Contains(s, "://") {
			errs = append(errs, fmt.Errorf("fleet: server %q is not a URL (write nats://host:4222 or tls://host:4222)", s))
		}
	}
	if err := CheckNode(c.Node); err != nil {
		errs = append(errs, err)
	}
	auth := 0
	for _, s := range []string{c.PasswordFile, c.CredsFile, c.NKeyFile} {
		if s != "" {
			auth++
		}
	}
	if auth > 1 {
		errs = append(errs, errors.New("fleet: set only one of password_file, creds_file and nkey_file"))
	}
	if c.PasswordFile != "" && c.User == "" {
		errs = append(errs, errors.New("fleet: password_file needs user"))
	}
	if (c.Cert == "") != (c.Key == "") {
		errs = append(errs, errors.New("fleet: cert and key go together"))
	}
	for _, p := range c.AcceptFrom {
		if _, err := path.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("fleet: accept_from %q is not a valid pattern", p))
		}
	}
	if c.MinPrefixV4 < 1 || c.MinPrefixV4 > 32 {
		errs = append(errs, fmt.Errorf("fleet: min_prefix_v4 %d is out of 1..32", c.MinPrefixV4))
	}
	if c.MinPrefixV6 < 1 || c.MinPrefixV6 > 128 {
		errs = append(errs, fmt.Errorf("fleet: min_prefix_v6 %d is out of 1..128", c.MinPrefixV6))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("fleet: replicas %d is out of 1..5", c.Replicas))
	}
	if c.MaxAge < time.Minute {
		errs = append(errs, fmt.Errorf("fleet: max_age %s is under a minute", c.MaxAge))
	}
	if c.MaxPerMinute < 1 || c.Outbox < 1 {
		errs = append(errs, errors.New("fleet: max_per_minute and outbox must be positive"))
	}
	return errors.Join(errs...)
}

// accepts reports whether bans from node are enforced here.
func (c Config) accepts(node string) bool {
	for _, p := range c.AcceptFrom {
		if ok, _ := path.Match(p, node); ok {
			return true
		}
	}
	return false
}

// shares reports whether bans of jail are published.
func (c Config) shares(jail string) bool {
	if len(c.Share) == 0 {
		return true
	}
	for _, s := range c.Share {
		if s == jail {
			return true
		}
	}
	return false
}
