package pkgbuild

import (
	"os/exec"
	"testing"
	"time"
)

func TestUpstreamVersion(t *testing.T) {
	at := time.Date(2026, 12, 3, 23, 30, 0, 0, time.FixedZone("X", -5*3600)) // 2026-12-04 in UTC
	tests := []struct {
		describe, want string
	}{
		{"v1.2.3-0-gabc1234", "1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3+git20261204.4.abc1234"},
		{"v1.2.3-rc1-0-gabc1234", "1.2.3~rc1"},
		{"v1.2.3-rc1-2-gabc1234-dirty", "1.2.3~rc1+git20261204.2.abc1234+dirty"},
		{"269988d", "0.0~git20261204.269988d"},
		{"269988d-dirty\n", "0.0~git20261204.269988d+dirty"},
	}
	for _, tt := range tests {
		got, err := UpstreamVersion(tt.describe, at)
		if err != nil || got != tt.want {
			t.Errorf("UpstreamVersion(%q) = %q, %v, want %q", tt.describe, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "vX-0-gabc", "main", "v-1-gzz"} {
		if got, err := UpstreamVersion(bad, at); err == nil {
			t.Errorf("UpstreamVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// TestVersionOrder checks with dpkg itself that the versions sort as
// upgrades expect: untagged < pre-release < release < commits after it.
func TestVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	order := []string{"0.0~git20261203.269988d-1", "0.0~git20261204.1111111-1", "1.2.3~rc1-1", "1.2.3-1", "1.2.3+git20261204.4.abc1234-1", "1.2.4-1"}
	for i := 1; i < len(order); i++ {
		if err := exec.Command(dpkg, "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %s lt %s: %v", order[i-1], order[i], err)
		}
	}
}

func TestCheckUpstream(t *testing.T) {
	for _, ok := range []string{"1.0", "0.0~git20261203.269988d", "2.0+up1"} {
		if err := CheckUpstream(ok); err != nil {
			t.Errorf("CheckUpstream(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "v1.0", "1.0_x", "1.0-"} {
		if err := CheckUpstream(bad); err == nil {
			t.Errorf("CheckUpstream(%q) = nil, want an error", bad)
		}
	}
}
