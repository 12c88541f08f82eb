package config

import (
	"strings"
	"testing"
)

func TestPortscanJailNameTaken(t *testing.T) {
	cfg := "[jails.portscan]\nenabled = true\nfilter = \"sshd\"\nlogpath = [\"/var/log/auth.log\"]\n\n[portscan]\nenabled = true\n"
	_, err := LoadBytes("x.toml", []byte(cfg), Options{})
	if err == nil || !strings.Contains(err.Error(), "x.toml:6: portscan") || !strings.Contains(err.Error(), "rename [jails.portscan]") {
		t.Errorf("LoadBytes = %v, want the [portscan] table's line and the fix", err)
	}
	// Either one alone is fine.
	for _, c := range []string{strings.Replace(cfg, "[portscan]\nenabled = true", "[portscan]\nenabled = false", 1), strings.Replace(cfg, "[jails.portscan]\nenabled = true", "[jails.portscan]\nenabled = false", 1)} {
		if _, err := LoadBytes("x.toml", []byte(c), Options{}); err != nil {
			t.Errorf("%q: %v", c, err)
		}
	}
}
