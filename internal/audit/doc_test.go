package audit

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

const auditDoc = "../../docs/AUDIT.md"

// checksMarkdown renders every check for docs/AUDIT.md.
func checksMarkdown() string {
	var b strings.Builder
	all := Checks()
	fmt.Fprintf(&b, "%d checks in %d areas.\n", len(all), len(Areas()))
	for _, a := range Areas() {
		fmt.Fprintf(&b, "\n### %s\n\n| ID | severity | title |\n|---|---|---|\n", a.Title())
		for _, c := range all {
			if c.Area == a {
				fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", c.ID, strings.ReplaceAll(c.ID, ".", ""), c.Severity, c.Title)
			}
		}
		for _, c := range all {
			if c.Area != a {
				continue
			}
			fmt.Fprintf(&b, "\n#### %s\n\n%s. Severity **%s**.\n\n- **Reads:** %s\n- **Why:** %s\n- **Remediation:**\n\n```\n%s\n```\n",
				c.ID, strings.TrimSuffix(c.Title, "."), c.Severity, c.Reads, c.Why, c.Remediation)
		}
	}
	return b.String()
}

func TestAuditDocUpToDate(t *testing.T) {
	b, err := os.ReadFile(auditDoc)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN GENERATED CHECKS -->\n", "<!-- END GENERATED CHECKS -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s: generated-section markers missing", auditDoc)
	}
	want := s[:i+len(begin)] + checksMarkdown() + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(auditDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the check list: run UPDATE_GOLDEN=1 go test ./internal/audit -run TestAuditDoc", auditDoc)
}
