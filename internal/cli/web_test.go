package cli

import (
	"strings"
	"testing"
)

func TestWebURLCommand(t *testing.T) {
	_, sock := startDaemon(t) // a daemon without a dashboard
	for _, tc := range []struct {
		args []string
		code int
		part string
	}{
		{[]string{"web", "url"}, 1, "this daemon has no web dashboard"},
		{[]string{"web", "url", "--base", "ftp://x"}, 2, "--base \"ftp://x\": want a scheme and host"},
		{[]string{"web", "url", "--base", "http://localhost:9191/path"}, 2, "want a scheme and host"},
		{[]string{"web", "url", "extra"}, 2, "unknown command"},
	} {
		code, out, errOut := run(append(tc.args, "--socket", sock)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.part) {
			t.Errorf("rampart %s: exit %d, output %q; want exit %d and %q", strings.Join(tc.args, " "), code, out+errOut, tc.code, tc.part)
		}
	}
}
