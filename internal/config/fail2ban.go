package config

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rampart-ids/rampart/internal/fail2ban"
)

// FromFail2ban turns the jails of a Fail2ban configuration directory into a
// rampart configuration layer (TOML), so it is validated like any other,
// and returns notes naming what could not be carried over. Every Fail2ban
// jail appears, disabled ones as enabled = false, so rampart's built-in
// sshd jail follows the Fail2ban configuration too. Which Fail2ban options
// are read, and how each becomes a rampart key, comes from the jail key
// declarations.
func FromFail2ban(dir string) ([]byte, []string, error) {
	jails, err := fail2ban.ReadJails(dir, fail2banOptions())
	if err != nil {
		return nil, nil, err
	}
	out := map[string]any{}
	var notes []string
	for i := range jails {
		f := &f2bJail{Jail: &jails[i]}
		if !f.Enabled {
			out[f.Name] = map[string]any{"enabled": false}
			continue
		}
		t, err := fail2banTable(f, jailKeys())
		if err != nil {
			return nil, nil, err
		}
		for _, u := range f.Unsupported {
			notes = append(notes, fmt.Sprintf("jail %q: %s", f.Name, u))
		}
		notes = append(notes, f.notes...)
		out[f.Name] = t
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(map[string]any{"jails": out}); err != nil {
		return nil, nil, err
	}
	return []byte(b.String()), notes, nil
}

// fail2banOptions lists the Fail2ban options the jail keys carry over.
func fail2banOptions() []string {
	var out []string
	for _, k := range jailKeys() {
		if k.fail2ban != "" && !strings.HasSuffix(k.fail2ban, ".*") { // bantime.*: the increment keys name them
			out = append(out, k.fail2ban)
		}
	}
	for _, k := range incrementKeys() {
		out = append(out, k.fail2ban)
	}
	return out
}

// f2bJail is one Fail2ban jail being translated, with the notes its
// translation adds.
type f2bJail struct {
	*fail2ban.Jail
	notes []string
}

func (f *f2bJail) note(format string, args ...any) {
	f.notes = append(f.notes, fmt.Sprintf("jail %q: ", f.Name)+fmt.Sprintf(format, args...))
}

// fail2banTable translates the jail's options for keys into a rampart
// table.
func fail2banTable[T any](f *f2bJail, keys []key[T]) (map[string]any, error) {
	out := map[string]any{}
	for _, k := range keys {
		if k.fromFail2ban == nil {
			continue
		}
		v, err := k.fromFail2ban(f, f.Options[k.fail2ban])
		if err != nil {
			return nil, err
		}
		if v != nil && v != "" {
			out[k.name] = v
		}
	}
	return out, nil
}

// fromString carries a Fail2ban value over as it is.
func fromString(_ *f2bJail, v string) (any, error) { return v, nil }

// fromBool carries a Fail2ban boolean over when the jail sets it.
func fromBool(_ *f2bJail, v string) (any, error) {
	if v == "" {
		return nil, nil
	}
	return fail2ban.IsTrue(v), nil
}
