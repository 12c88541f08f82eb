package harden_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/harden/fixture"
)

// On a terminal, harden without --yes shows the plan and asks; only "y"
// applies. script(1) gives the command a real pseudo-terminal.
func TestHardenAsksOnATerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("skipping: script is not installed (package bsdutils)")
	}
	bin, err := rampartBin()
	if err != nil {
		t.Fatal(err)
	}
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	drop := filepath.Join(root, "etc/systemd/journald.conf.d/50-rampart.conf")
	ask := func(answer string) string {
		cmd := exec.Command("script", "-qec", bin+" harden --root "+root+" --state-dir "+state+" journald", "/dev/null")
		cmd.Stdin = strings.NewReader(answer + "\n")
		cmd.Env = append(os.Environ(), "NO_COLOR=1") // colour off must not mean "not a terminal"
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	out := ask("n")
	if !strings.Contains(out, "Apply these changes? [y/N]") || !strings.Contains(out, "not applied (not confirmed)") {
		t.Fatalf("answer n:\n%s", out)
	}
	if _, err := os.Stat(drop); err == nil {
		t.Fatal("applied although the answer was n")
	}
	out = ask("y")
	if !strings.Contains(out, "applied change set") {
		t.Fatalf("answer y:\n%s", out)
	}
	if _, err := os.Stat(drop); err != nil {
		t.Fatalf("answer y did not apply: %v", err)
	}
}
