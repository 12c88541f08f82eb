package fail2ban

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Jail is one [jail] section of a Fail2ban configuration, interpolated, in
// Fail2ban's own terms. The caller names the options it understands and maps
// them onto its own jail configuration; Unsupported names what cannot be
// carried over, so it is reported at start and never silently dropped.
type Jail struct {
	Name    string
	Where   string // file:line of the section's enabled (or first) option
	Enabled bool
	// Options holds, for an enabled jail, the interpolated and trimmed value
	// of each option ReadJails was asked for that the section or [DEFAULT]
	// sets; an option set nowhere is absent.
	Options map[string]string
	// AllPorts is true when the ban action blocks every port.
	AllPorts bool
	// Blocktype is "reject" or "drop" when the action says so ("" = default).
	Blocktype   string
	Actions     []string // action names, in order
	Unsupported []string
}

// quietOption reports options that only shape Fail2ban's own actions and
// filters (which rampart replaces) and so are accepted without a note:
// action is read here, the others are interpolated into actions.
func quietOption(k string) bool {
	switch k {
	case "enabled", "action", "banaction_allports", "chain", "logencoding", "maxmatches":
		return true
	}
	return strings.HasPrefix(k, "known/")
}

// firewallActions are Fail2ban actions that rampart's own firewall replaces.
var firewallActions = regexp.MustCompile(`^(?:nftables|iptables|ip6tables|firewallcmd|ufw|shorewall|route|ipset)`)

var blocktypeRE = regexp.MustCompile(`blocktype="?(\w+)`)

// ReadJails reads jail.conf, jail.d/*.conf, jail.local and jail.d/*.local
// (with their includes, e.g. paths-debian.conf) from dir and returns every
// jail section, enabled or not, sorted by name. options names the jail
// options the caller understands (e.g. "maxretry", "bantime.factor"): those
// are read into Jail.Options, and any other option a jail sets is listed in
// Jail.Unsupported.
func ReadJails(dir string, options []string) ([]Jail, error) {
	c, err := LoadConfig(dir, "jail")
	if err != nil {
		return nil, err
	}
	var out []Jail
	for _, name := range c.Sections() {
		if name == "INCLUDES" || strings.Contains(name, "?") {
			continue
		}
		j, err := readJail(c, name, options)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, nil
}

func readJail(c *Config, name string, options []string) (Jail, error) {
	j := Jail{Name: name}
	get := func(k string) (string, bool, error) {
		v, ok, err := c.Get(name, k, nil)
		return strings.TrimSpace(v), ok, err
	}
	j.Where = c.Where(name, "enabled")
	if j.Where == "" {
		if keys := c.Keys(name); len(keys) > 0 {
			j.Where = c.Where(name, keys[0])
		}
	}
	en, _, err := get("enabled")
	if err != nil {
		return j, err
	}
	j.Enabled = IsTrue(en)
	if !j.Enabled {
		return j, nil // options of disabled jails may refer to undefined paths
	}
	j.Options = map[string]string{}
	for _, k := range options {
		v, ok, err := get(k)
		if err != nil {
			return j, err
		}
		if ok {
			j.Options[k] = v
		}
	}
	act, _, err := get("action")
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
			if m := blocktypeRE.FindStringSubmatch(a); m != nil {
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
		if !quietOption(k) && !slices.Contains(options, k) {
			j.Unsupported = append(j.Unsupported, fmt.Sprintf("option %q (%s) is not supported and is ignored", k, c.Where(name, k)))
		}
	}
	return j, nil
}

// IsTrue reads a Fail2ban boolean: true, yes, 1, on or enabled.
func IsTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on", "enabled":
		return true
	}
	return false
}
