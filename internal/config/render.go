package config

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/BurntSushi/toml"
)

// The file* types are the configuration as written in a file; the effective
// configuration is rendered through them so that `rampart config show`
// prints a file rampart can load again.
type fileConfig struct {
	Daemon fileDaemon          `toml:"daemon" json:"daemon"`
	Jails  map[string]fileJail `toml:"jails" json:"jails"`
}

type fileDaemon struct {
	StateDir      string `toml:"state_dir" json:"state_dir"`
	Socket        string `toml:"socket" json:"socket"`
	LogLevel      string `toml:"log_level" json:"log_level"`
	Firewall      string `toml:"firewall" json:"firewall"`
	OnStop        string `toml:"on_stop" json:"on_stop"`
	MetricsListen string `toml:"metrics_listen" json:"metrics_listen"`
	MaxLineBytes  int    `toml:"max_line_bytes" json:"max_line_bytes"`
	HistoryKeep   string `toml:"history_keep" json:"history_keep"`
}

type fileJail struct {
	Enabled      bool          `toml:"enabled" json:"enabled"`
	Filter       string        `toml:"filter" json:"filter"`
	Backend      string        `toml:"backend" json:"backend"`
	LogPath      []string      `toml:"logpath" json:"logpath"`
	JournalMatch string        `toml:"journalmatch" json:"journalmatch"`
	Port         string        `toml:"port" json:"port"`
	Protocol     string        `toml:"protocol" json:"protocol"`
	BanAction    string        `toml:"banaction" json:"banaction"`
	MaxRetry     int           `toml:"maxretry" json:"maxretry"`
	FindTime     string        `toml:"findtime" json:"findtime"`
	BanTime      string        `toml:"bantime" json:"bantime"`
	IgnoreIP     []string      `toml:"ignoreip" json:"ignoreip"`
	IgnoreSelf   bool          `toml:"ignoreself" json:"ignoreself"`
	UseDNS       string        `toml:"usedns" json:"usedns"`
	IPv4Prefix   int           `toml:"ipv4_prefix" json:"ipv4_prefix"`
	IPv6Prefix   int           `toml:"ipv6_prefix" json:"ipv6_prefix"`
	MaxTracked   int           `toml:"max_tracked" json:"max_tracked"`
	Increment    fileIncrement `toml:"increment" json:"increment"`
}

type fileIncrement struct {
	Enabled      bool      `toml:"enabled" json:"enabled"`
	Factor       float64   `toml:"factor" json:"factor"`
	Formula      string    `toml:"formula" json:"formula"`
	Multipliers  []float64 `toml:"multipliers,omitempty" json:"multipliers,omitempty"`
	MaxTime      string    `toml:"maxtime" json:"maxtime"`
	RndTime      string    `toml:"rndtime" json:"rndtime"`
	OverallJails bool      `toml:"overalljails" json:"overalljails"`
}

func (c *Config) file() fileConfig {
	d := c.Daemon
	out := fileConfig{
		Daemon: fileDaemon{
			StateDir: d.StateDir, Socket: d.Socket, LogLevel: d.LogLevel, Firewall: d.Firewall,
			OnStop: d.OnStop, MetricsListen: d.MetricsListen, MaxLineBytes: d.MaxLineBytes,
			HistoryKeep: FormatDuration(d.HistoryKeep),
		},
		Jails: map[string]fileJail{},
	}
	for _, j := range c.Jails {
		port := "all"
		if !j.AllPorts {
			ps := make([]string, len(j.Ports))
			for i, p := range j.Ports {
				ps[i] = p.String()
			}
			port = strings.Join(ps, ",")
		}
		action := "drop"
		if j.Reject {
			action = "reject"
		}
		ignore := make([]string, 0, len(j.IgnoreIP)+len(j.IgnoreNames))
		for _, p := range j.IgnoreIP {
			if p.IsSingleIP() {
				ignore = append(ignore, p.Addr().String())
			} else {
				ignore = append(ignore, p.String())
			}
		}
		ignore = append(ignore, j.IgnoreNames...)
		out.Jails[j.Name] = fileJail{
			Enabled: j.Enabled, Filter: j.FilterSpec(), Backend: j.Backend,
			LogPath: nonNil(j.LogPath), JournalMatch: strings.Join(j.JournalMatch, " "),
			Port: port, Protocol: strings.Join(j.Protocols, ","), BanAction: action,
			MaxRetry: j.MaxRetry, FindTime: FormatDuration(j.FindTime), BanTime: FormatDuration(j.BanTime),
			IgnoreIP: ignore, IgnoreSelf: j.IgnoreSelf, UseDNS: j.UseDNS,
			IPv4Prefix: j.IPv4Prefix, IPv6Prefix: j.IPv6Prefix, MaxTracked: j.MaxTracked,
			Increment: fileIncrement{
				Enabled: j.Increment.Enabled, Factor: j.Increment.Factor, Formula: j.Increment.Formula,
				Multipliers: j.Increment.Multipliers, MaxTime: FormatDuration(j.Increment.MaxTime),
				RndTime: FormatDuration(j.Increment.RndTime), OverallJails: j.Increment.OverallJails,
			},
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TOML renders the effective configuration as a complete TOML file that
// Load accepts and that yields the same configuration.
func (c *Config) TOML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# rampart effective configuration, from:\n")
	for _, f := range c.Files {
		b.WriteString("#   " + f + "\n")
	}
	b.WriteString("\n")
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(c.file()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// JSON renders the effective configuration with the file's key names.
func (c *Config) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(c.file(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
