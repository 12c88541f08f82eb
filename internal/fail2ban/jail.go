package fail2ban

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Jail is one [jail] section of a Fail2ban configuration, interpolated, in
// Fail2ban's own terms. The daemon maps it onto its own jail configuration;
// Unsupported names what cannot be carried over, so it is reported at start
// and never silently dropped.
type Jail struct {
	Name     string
	Where    string // file:line of the section's enabled (or first) option
	Enabled  bool
	Filter   string // filter spec, e.g. "sshd[mode=normal]"
	LogPath  []string
	Backend  string // auto, polling, pyinotify, systemd…
	Journal  string // journalmatch
	Port     string
	Protocol string
	MaxRetry string
	FindTime string
	BanTime  string
	// Increment holds the bantime.* options (increment, factor, formula,
	// multipliers, maxtime, rndtime, overalljails), keyed without "bantime.".
	Increment  map[string]string
	IgnoreIP   []string
	IgnoreSelf string
	UseDNS     string
	// AllPorts is true when the ban action blocks every port.
	AllPorts bool
	// Blocktype is "reject" or "drop" when the action says so ("" = default).
	Blocktype   string
	Actions     []string // action names, in order
	Unsupported []string
}

// jailKeys are the options rampart understands; others are reported.
var jailKeys = map[string]bool{
	"enabled": true, "filter": true, "logpath": true, "backend": true, "journalmatch": true,
	"port": true, "protocol": true, "maxretry": true, "findtime": true, "bantime": true,
	"bantime.increment": true, "bantime.factor": true, "bantime.formula": true, "bantime.multipliers": true,
	"bantime.maxtime": true, "bantime.rndtime": true, "bantime.overalljails": true,
	"ignoreip": true, "ignoreself": true, "usedns": true, "banaction": true, "banaction_allports": true,
	"action": true, "mode": true, "chain": true, "logencoding": true, "maxmatches": true,
}

// firewallActions are Fail2ban actions that rampart's own firewall replaces.
var firewallActions = regexp.MustCompile(`^(?:nftables|iptables|ip6tables|firewallcmd|ufw|shorewall|route|ipset)`)

// ReadJails reads jail.conf, jail.d/*.conf, jail.local and jail.d/*.local
// (with their includes, e.g. paths-debian.conf) from dir and returns every
// jail section, enabled or not, sorted by name.
func ReadJails(dir string) ([]Jail, error) {
	c, err := LoadConfig(dir, "jail")
	if err != nil {
		return nil, err
	}
	var out []Jail
	for _, name := range c.Sections() {
		if name == "INCLUDES" || strings.Contains(name, "?") {
			continue
		}
		j, err := readJail(c, name)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, nil
}

func readJail(c *Config, name string) (Jail, error) {
	j := Jail{Name: name, Increment: map[string]string{}}
	get := func(k string) (string, error) {
		v, _, err := c.Get(name, k, nil)
		return strings.TrimSpace(v), err
	}
	j.Where = c.Where(name, "enabled")
	if j.Where == "" {
		if keys := c.Keys(name); len(keys) > 0 {
			j.Where = c.Where(name, keys[0])
		}
	}
	en, err := get("enabled")
	if err != nil {
		return j, err
	}
	j.Enabled = isTrue(en)
	if !j.Enabled {
		return j, nil // options of disabled jails may refer to undefined paths
	}
	fields := []struct {
		key string
		dst *string
	}{
		{"filter", &j.Filter}, {"backend", &j.Backend}, {"journalmatch", &j.Journal},
		{"port", &j.Port}, {"protocol", &j.Protocol}, {"maxretry", &j.MaxRetry},
		{"findtime", &j.FindTime}, {"bantime", &j.BanTime}, {"ignoreself", &j.IgnoreSelf},
		{"usedns", &j.UseDNS},
	}
	for _, f := range fields {
		if *f.dst, err = get(f.key); err != nil {
			return j, err
		}
	}
	if j.Filter == "" {
		j.Filter = name
	}
	lp, err := get("logpath")
	if err != nil {
		return j, err
	}
	for _, l := range strings.Split(lp, "\n") {
		l = strings.TrimSpace(l)
		// "path tail" / "path head" choose where reading starts; rampart
		// always resumes from saved positions.
		l = strings.TrimSuffix(strings.TrimSuffix(l, " tail"), " head")
		if l != "" {
			j.LogPath = append(j.LogPath, strings.TrimSpace(l))
		}
	}
	ig, err := get("ignoreip")
	if err != nil {
		return j, err
	}
	j.IgnoreIP = strings.FieldsFunc(ig, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '\t' })
	for _, k := range []string{"increment", "factor", "formula", "multipliers", "maxtime", "rndtime", "overalljails"} {
		v, ok, err := c.Get(name, "bantime."+k, nil)
		if err != nil {
			return j, err
		}
		if ok {
			j.Increment[k] = strings.TrimSpace(v)
		}
	}
	act, err := get("action")
	if err != nil {
		return j, err
	}
	for _, a := range strings.Split(act, "\n") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		an := a
		if i := strings.IndexByte(a, '['); i >= 0 {
			an = a[:i]
		}
		j.Actions = append(j.Actions, an)
		switch {
		case firewallActions.MatchString(an):
			if strings.Contains(an, "allports") || strings.Contains(a, "type=allports") {
				j.AllPorts = true
			}
			if m := regexp.MustCompile(`blocktype="?(\w+)`).FindStringSubmatch(a); m != nil {
				if strings.EqualFold(m[1], "drop") {
					j.Blocktype = "drop"
				} else {
					j.Blocktype = "reject"
				}
			}
		default:
			j.Unsupported = append(j.Unsupported, fmt.Sprintf("action %q is not carried over (rampart bans with its own firewall backend; mail, reporting and custom actions are not run)", an))
		}
	}
	for _, k := range c.Keys(name) {
		if !jailKeys[k] && !strings.HasPrefix(k, "known/") {
			j.Unsupported = append(j.Unsupported, fmt.Sprintf("option %q (%s) is not supported and is ignored", k, c.Where(name, k)))
		}
	}
	if b := strings.ToLower(j.Backend); b != "" && b != "auto" && b != "polling" && b != "pyinotify" && b != "gamin" && !strings.HasPrefix(b, "systemd") {
		j.Unsupported = append(j.Unsupported, fmt.Sprintf("backend %q is unknown; rampart uses auto", j.Backend))
	}
	return j, nil
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on", "enabled":
		return true
	}
	return false
}
