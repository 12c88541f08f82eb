package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The filters of the new event kinds: severity and audit score.
func TestAlertKindFilters(t *testing.T) {
	src := `[alerts.sec]
type = "webhook"
url = "https://hooks.example.com/x"
kinds = ["integrity-change", "host-change", "audit-result", "policy"]
min_severity = "high"
audit_below = 70
audit_drop = 10
`
	c, err := LoadBytes("x.toml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts[0]
	got := []any{a.Kinds, a.MinSeverity, a.AuditBelow, a.AuditDrop}
	want := []any{[]string{"integrity-change", "host-change", "audit-result", "policy"}, "high", 70, 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alert (-want +got):\n%s", diff)
	}
	for src, want := range map[string]string{
		"[alerts.a]\ntype = \"ntfy\"\nurl = \"https://x\"\nmin_severity = \"urgent\"\n": `x.toml:4: alerts.a.min_severity: "urgent" is not allowed (use info, low, medium, high, critical)`,
		"[alerts.a]\ntype = \"ntfy\"\nurl = \"https://x\"\naudit_below = 101\n":         `x.toml:4: alerts.a.audit_below: 101 is out of range (use 0 to 100)`,
		"[alerts.a]\ntype = \"ntfy\"\nurl = \"https://x\"\naudit_drop = \"5\"\n":        `x.toml:4: alerts.a.audit_drop:`,
		"[alerts.a]\ntype = \"ntfy\"\nurl = \"https://x\"\nkinds = [\"integrity\"]\n":   `x.toml:4: alerts.a.kinds: unknown kind "integrity"`,
	} {
		_, err := LoadBytes("x.toml", []byte(src), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadBytes(%q) = %v, want %s", src, err, want)
		}
	}
}
