package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/control"
)

// TestRampartStatusContract feeds the daemon's real GET /v1/status type to
// the brute-force checks' reader, so a change to the API shows up here.
func TestRampartStatusContract(t *testing.T) {
	b, err := json.Marshal(control.StatusReply{Jails: []control.JailStatus{
		{Name: "nginx-http-auth", Filter: "nginx-http-auth", Sources: []string{"/var/log/nginx/error.log"}},
		{Name: "ssh-main", Filter: "sshd", Sources: []string{"journal: _SYSTEMD_UNIT=ssh.service"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var status map[string]any
	if err := json.Unmarshal(b, &status); err != nil {
		t.Fatal(err)
	}
	be := &banEngine{Rampart: true, RampartJSON: status}
	engine, name, fields := be.sshdJail()
	if engine != "rampart" || name != "ssh-main" {
		t.Fatalf("sshdJail = %q %q, want rampart ssh-main", engine, name)
	}
	raw, _ := json.Marshal(fields)
	if want := "journal"; !strings.Contains(string(raw), want) {
		t.Errorf("jail fields %s lack %q", raw, want)
	}
}
