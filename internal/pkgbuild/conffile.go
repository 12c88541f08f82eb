package pkgbuild

import (
	"bytes"
	"strings"
)

// conffileHeader opens /etc/rampart/rampart.toml. The file is the built-in
// configuration with every setting commented out, so that a package upgrade
// that changes a default reaches admins who never edited the file, and one
// who did keeps their version (it is a conffile).
const conffileHeader = `# /etc/rampart/rampart.toml — rampart's configuration (docs/CONFIG.md,
# man rampart-run). It is layered over rampart's built-in configuration,
# which is reproduced below with every setting commented out: uncomment a
# line and change it to override the built-in value. Drop-ins in
# /etc/rampart/rampart.d/*.toml are read after this file.
#
#   rampart config check   validates the configuration (file:line: key: fix)
#   rampart config show    prints the effective configuration
#   systemctl reload rampart  applies it
#
# This file is a conffile: package upgrades keep your changes.
#
`

// Conffile renders the packaged /etc/rampart/rampart.toml from the embedded
// default configuration (internal/config/default.toml): its comments stay,
// every table header and key is commented out with "#", blank lines stay.
func Conffile(defaults []byte) []byte {
	var b bytes.Buffer
	b.WriteString(conffileHeader)
	for _, line := range strings.Split(strings.TrimRight(string(defaults), "\n"), "\n") {
		switch t := strings.TrimSpace(line); {
		case t == "":
			b.WriteString("\n")
		case strings.HasPrefix(t, "#"):
			b.WriteString(line + "\n")
		default:
			b.WriteString("#" + line + "\n")
		}
	}
	return b.Bytes()
}
