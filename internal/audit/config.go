package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultConfigPath is read when --config is not given and the file exists.
const DefaultConfigPath = "/etc/rampart/audit.toml"

// maxConfigSize caps the audit configuration file.
const maxConfigSize = 1 << 20

// Config holds the facts only the admin can declare: which ports are meant
// to be open, where the proof of the last backup is, where the incident
// procedure is written down.
type Config struct {
	// Source is the file the config came from, "" when none was loaded.
	Source string `toml:"-"`

	// Owner is who answers for this host (a name, mail or team).
	Owner string `toml:"owner"`
	// IntendedPorts are the sockets meant to be reachable: "22/tcp",
	// "53/udp", or "443" (tcp).
	IntendedPorts []string `toml:"intended_ports"`
	// Admins are the accounts expected in the sudo, admin and wheel groups.
	Admins []string `toml:"admins"`
	// Router declares that forwarding packets is this host's job.
	Router bool `toml:"router"`

	Backup   BackupConfig   `toml:"backup"`
	Incident IncidentConfig `toml:"incident"`
}

// BackupConfig declares how to tell that backups are taken and tested.
type BackupConfig struct {
	// Marker is a file the backup job touches after each successful run.
	Marker string `toml:"marker"`
	// Command exits 0 when the last backup is good; if it prints an RFC 3339
	// time or Unix seconds, that time's age is checked too.
	Command []string `toml:"command"`
	// MaxAge is the oldest acceptable backup (Go duration, e.g. "26h").
	MaxAge duration `toml:"max_age"`
	// RestoreTestMarker is a file touched after each successful restore test.
	RestoreTestMarker string `toml:"restore_test_marker"`
	// RestoreTestMaxAge is the oldest acceptable restore test.
	RestoreTestMaxAge duration `toml:"restore_test_max_age"`
}

// IncidentConfig declares the written incident procedure.
type IncidentConfig struct {
	// Procedure is the file holding the incident response procedure.
	Procedure string `toml:"procedure"`
	// MaxAge is how long the procedure may go unreviewed (default 1 year).
	MaxAge duration `toml:"max_age"`
}

// duration decodes "26h" or "90m" from TOML strings.
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as \"26h\" or \"90m\"", string(b))
	}
	if v <= 0 {
		return fmt.Errorf("duration %q: must be positive", string(b))
	}
	d.Duration = v
	return nil
}

// LoadConfig reads and strictly decodes the audit config at path: unknown
// keys are refused with their line number.
func LoadConfig(path string) (Config, error) {
	// O_NONBLOCK: a FIFO in place of the file must not block the open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Config{}, fmt.Errorf("audit config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Config{}, fmt.Errorf("audit config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Config{}, fmt.Errorf("audit config %s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("audit config: %w", err)
	}
	if len(b) > maxConfigSize {
		return Config{}, fmt.Errorf("audit config %s: larger than %d bytes", path, maxConfigSize)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("audit config %s: %w", path, err)
	}
	c.Source = path
	return c, nil
}

// ParseConfig decodes an audit config document.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Config{}, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return Config{}, err
	}
	if u := md.Undecoded(); len(u) > 0 {
		k := u[0]
		return Config{}, fmt.Errorf("line %d: unknown key %q", keyLine(b, k), k.String())
	}
	for _, p := range c.IntendedPorts {
		if _, _, err := parsePortSpec(p); err != nil {
			return Config{}, fmt.Errorf("intended_ports: %w", err)
		}
	}
	if c.Backup.Command != nil && len(c.Backup.Command) == 0 {
		return Config{}, errors.New("backup.command: empty command")
	}
	return c, nil
}

// keyLine finds the line where key is set, following [table] headers. It
// returns 0 when the key cannot be placed.
func keyLine(b []byte, key toml.Key) int {
	table := ""
	want := strings.Join(key[:len(key)-1], ".")
	last := key[len(key)-1]
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			table = strings.Trim(l, "[] ")
			if table == key.String() {
				return i + 1
			}
			continue
		}
		name, _, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		name = strings.Trim(strings.TrimSpace(name), `"'`)
		full := name
		if table != "" {
			full = table + "." + name
		}
		if (table == want && name == last) || full == key.String() {
			return i + 1
		}
	}
	return 0
}

// parsePortSpec reads "22", "22/tcp" or "53/udp".
func parsePortSpec(s string) (int, string, error) {
	num, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return 0, "", fmt.Errorf("port %q: protocol must be tcp or udp", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 {
		return 0, "", fmt.Errorf("port %q: want 1-65535, optionally with /tcp or /udp", s)
	}
	return n, proto, nil
}

// declareHint tells how to declare a missing fact.
func (c Config) declareHint(snippet string) string {
	where := c.Source
	if where == "" {
		where = DefaultConfigPath
	}
	return fmt.Sprintf("declare it in %s (or pass --config FILE):\n%s", where, snippet)
}
