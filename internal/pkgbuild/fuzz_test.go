package pkgbuild

import (
	"testing"
	"time"
)

// FuzzUpstreamVersion: whatever git describe prints, the result is an error
// or a version Debian accepts (the package build refuses the rest).
func FuzzUpstreamVersion(f *testing.F) {
	for _, s := range []string{"v1.2.3-0-gabc1234", "269988d-dirty", "v1.0-rc1-3-gdeadbee", "v-1-g", ""} {
		f.Add(s)
	}
	at := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, describe string) {
		v, err := UpstreamVersion(describe, at)
		if err != nil {
			return
		}
		if cerr := CheckUpstream(v); cerr != nil {
			t.Errorf("UpstreamVersion(%q) = %q, which CheckUpstream refuses: %v", describe, v, cerr)
		}
	})
}

// FuzzParseBuildInfo: arbitrary `go version -m` output never panics, and
// every module it returns has a path and a version.
func FuzzParseBuildInfo(f *testing.F) {
	f.Add("/b: go1.26.8\n\tdep\tgolang.org/x/sys\tv0.50.0\th1:x=\n\t=>\tx/y\tv1\n")
	f.Add("=>\n\t=>\ta\tb\n")
	f.Fuzz(func(t *testing.T, out string) {
		_, mods, err := ParseBuildInfo([]byte(out))
		if err != nil {
			return
		}
		for _, m := range mods {
			if m.Path == "" || m.Version == "" {
				t.Errorf("ParseBuildInfo(%q) returned module %+v", out, m)
			}
		}
	})
}
