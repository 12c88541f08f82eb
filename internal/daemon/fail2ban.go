package daemon

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rampart-ids/rampart/internal/fail2ban"
)

// Fail2banTOML turns the jails of a Fail2ban configuration directory into a
// rampart configuration layer (TOML), so it is validated like any other,
// and returns notes naming what could not be carried over. Every Fail2ban
// jail appears, disabled ones as enabled = false, so rampart's built-in
// sshd jail follows the Fail2ban configuration too.
func Fail2banTOML(dir string) ([]byte, []string, error) {
	jails, err := fail2ban.ReadJails(dir)
	if err != nil {
		return nil, nil, err
	}
	type incr struct {
		Enabled      bool      `toml:"enabled"`
		Factor       float64   `toml:"factor,omitzero"`
		Formula      string    `toml:"formula,omitempty"`
		Multipliers  []float64 `toml:"multipliers,omitempty"`
		MaxTime      string    `toml:"maxtime,omitempty"`
		RndTime      string    `toml:"rndtime,omitempty"`
		OverallJails bool      `toml:"overalljails,omitempty"`
	}
	type fjail struct {
		Enabled      bool     `toml:"enabled"`
		Filter       string   `toml:"filter,omitempty"`
		Backend      string   `toml:"backend,omitempty"`
		LogPath      []string `toml:"logpath,omitempty"`
		JournalMatch string   `toml:"journalmatch,omitempty"`
		Port         string   `toml:"port,omitempty"`
		Protocol     string   `toml:"protocol,omitempty"`
		BanAction    string   `toml:"banaction,omitempty"`
		MaxRetry     int      `toml:"maxretry,omitzero"`
		FindTime     string   `toml:"findtime,omitempty"`
		BanTime      string   `toml:"bantime,omitempty"`
		IgnoreIP     []string `toml:"ignoreip,omitempty"`
		IgnoreSelf   *bool    `toml:"ignoreself,omitempty"`
		UseDNS       string   `toml:"usedns,omitempty"`
		Increment    *incr    `toml:"increment,omitempty"`
	}
	out := struct {
		Jails map[string]fjail `toml:"jails"`
	}{Jails: map[string]fjail{}}
	var notes []string
	for _, j := range jails {
		if !j.Enabled {
			out.Jails[j.Name] = fjail{Enabled: false}
			continue
		}
		fj := fjail{Enabled: true, Filter: j.Filter, LogPath: j.LogPath, JournalMatch: j.Journal,
			Port: j.Port, Protocol: j.Protocol, FindTime: j.FindTime, BanTime: j.BanTime,
			IgnoreIP: j.IgnoreIP, UseDNS: strings.ToLower(j.UseDNS)}
		switch b := strings.ToLower(j.Backend); {
		case strings.HasPrefix(b, "systemd"):
			fj.Backend = "journal"
		case b == "polling":
			fj.Backend = "polling"
		default:
			fj.Backend = "auto"
		}
		if j.MaxRetry != "" {
			n, err := strconv.Atoi(j.MaxRetry)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: jail %q: maxretry %q is not a number", j.Where, j.Name, j.MaxRetry)
			}
			fj.MaxRetry = n
		}
		if j.IgnoreSelf != "" {
			v := isTrueF2B(j.IgnoreSelf)
			fj.IgnoreSelf = &v
		}
		if j.AllPorts {
			fj.Port = "all"
		}
		// Fail2ban's firewall actions reject unless blocktype says drop.
		if j.Blocktype == "drop" {
			fj.BanAction = "drop"
		} else {
			fj.BanAction = "reject"
		}
		if inc := j.Increment; isTrueF2B(inc["increment"]) {
			in := &incr{Enabled: true, Formula: inc["formula"], MaxTime: inc["maxtime"], RndTime: inc["rndtime"], OverallJails: isTrueF2B(inc["overalljails"])}
			if f := inc["factor"]; f != "" {
				v, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: jail %q: bantime.factor %q is not a number", j.Where, j.Name, f)
				}
				in.Factor = v
			}
			for _, m := range strings.Fields(inc["multipliers"]) {
				v, err := strconv.ParseFloat(m, 64)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: jail %q: bantime.multipliers %q is not a list of numbers", j.Where, j.Name, inc["multipliers"])
				}
				in.Multipliers = append(in.Multipliers, v)
			}
			fj.Increment = in
		}
		for _, u := range j.Unsupported {
			notes = append(notes, fmt.Sprintf("jail %q: %s", j.Name, u))
		}
		out.Jails[j.Name] = fj
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(out); err != nil {
		return nil, nil, err
	}
	return []byte(b.String()), notes, nil
}

func isTrueF2B(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on", "enabled":
		return true
	}
	return false
}
