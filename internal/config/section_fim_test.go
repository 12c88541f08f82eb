package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFIMSection(t *testing.T) {
	c, err := loadTest(t, "[fim]\npaths = [\"/srv/app\", \"/home/*/.ssh/\"]\nexclude = [\"*.log\"]\nschedule = \"30m\"\nenabled = false\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := FIM{
		Paths: []string{"/srv/app", "/home/*/.ssh"}, Exclude: []string{"*.log"}, Schedule: 30 * time.Minute,
		Realtime: []string{"/etc/passwd", "/etc/shadow", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/root/.ssh"},
		Baseline: "/var/lib/rampart/fim.baseline",
	}
	if diff := cmp.Diff(want, c.FIM); diff != "" {
		t.Errorf("[fim] (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ src, want string }{
		{"[fim]\npaths = [\"etc\"]\n", `x.toml:2: fim.paths: "etc" must be an absolute path (write /etc)`},
		{"[fim]\npaths = []\n", `x.toml:2: fim.paths: empty: name at least one directory or file`},
		{"[fim]\nrealtime = [\"/etc/[x\"]\n", `x.toml:2: fim.realtime: "/etc/[x": bad pattern`},
		{"[fim]\nschedule = \"10s\"\n", `x.toml:2: fim.schedule: must be at least 1m`},
		{"[fim]\nbaseline = \"fim.db\"\n", `x.toml:2: fim.baseline: "fim.db" must be an absolute path`},
		{"[fim]\nexcludes = [\"x\"]\n", `x.toml:2: fim.excludes: unknown key (did you mean "exclude"?)`},
	} {
		_, err := loadTest(t, tc.src, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("load %q = %v, want %q", tc.src, err, tc.want)
		}
	}
}
