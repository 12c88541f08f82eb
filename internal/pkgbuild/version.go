// Package pkgbuild makes rampart's release artifacts from a checkout: static
// binaries per architecture, man pages and completions generated from the
// command tree, a Debian package built with nfpm (conffile, maintainer
// scripts, DEP-5 copyright from the module graph, changelog) and a tarball
// per architecture with SHA256SUMS and an SBOM. Every output is a function
// of the source tree and SOURCE_DATE_EPOCH: two builds give the same bytes.
// cmd/mkdist is its command line; the Makefile's deb and dist targets run it.
package pkgbuild

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// debianUpstream is what Debian policy allows in an upstream version that is
// followed by a Debian revision: it starts with a digit.
var debianUpstream = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)

// describeTag matches `git describe --tags --long` output: TAG-N-gHASH.
var describeTag = regexp.MustCompile(`^v?([0-9][A-Za-z0-9.+~_-]*?)-([0-9]+)-g([0-9a-f]+)$`)

// UpstreamVersion turns `git describe --tags --long --always --dirty
// --abbrev=7 --match 'v[0-9]*'` output into a Debian upstream version:
//
//	v1.2.3-0-gabc1234        -> 1.2.3
//	v1.2.3-4-gabc1234        -> 1.2.3+git20261203.4.abc1234
//	v1.2.3-rc1-0-gabc1234    -> 1.2.3~rc1 (sorts before 1.2.3)
//	abc1234 (no tag)         -> 0.0~git20261203.abc1234
//	...-dirty                -> ...+dirty
//
// commit is the commit's time; its UTC date goes into untagged versions so
// that later commits usually sort later.
func UpstreamVersion(describe string, commit time.Time) (string, error) {
	d := strings.TrimSpace(describe)
	dirty := strings.HasSuffix(d, "-dirty")
	d = strings.TrimSuffix(d, "-dirty")
	date := commit.UTC().Format("20060102")
	var v string
	if m := describeTag.FindStringSubmatch(d); m != nil {
		tag := strings.ReplaceAll(m[1], "_", ".")
		// A pre-release suffix (1.2.3-rc1) sorts before the release in Debian only with ~.
		tag = strings.Replace(tag, "-", "~", 1)
		v = tag
		if m[2] != "0" {
			v = fmt.Sprintf("%s+git%s.%s.%s", tag, date, m[2], m[3])
		}
	} else if regexp.MustCompile(`^[0-9a-f]{4,40}$`).MatchString(d) {
		v = fmt.Sprintf("0.0~git%s.%s", date, d)
	} else {
		return "", fmt.Errorf("version: cannot read git describe output %q", describe)
	}
	if dirty {
		v += "+dirty"
	}
	if CheckUpstream(v) != nil {
		return "", fmt.Errorf("version: %q (from %q) is not a valid Debian upstream version", v, describe)
	}
	return v, nil
}

// CheckUpstream reports whether v (given with -version) can be a Debian
// upstream version.
func CheckUpstream(v string) error {
	if !debianUpstream.MatchString(v) || strings.HasSuffix(v, "-") {
		return fmt.Errorf("version: %q is not a valid Debian upstream version (digits first; letters, digits, . + ~ -)", v)
	}
	return nil
}
