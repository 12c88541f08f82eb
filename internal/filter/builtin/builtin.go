// Package builtin embeds rampart's own filter library: one NAME.toml
// definition (format: docs/FILTERS.md) and one NAME.sample annotated log per
// filter. The filter engine compiles the definitions; its table test, fuzzer
// and benchmark replay the samples.
package builtin

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

// files is read-only embedded data, the one package-level variable allowed.
//
//go:embed *.toml *.sample
var files embed.FS

// FS returns the embedded filter definitions and their sample logs, both at
// the root of the file system: "sshd.toml", "sshd.sample", ...
func FS() embed.FS { return files }

// Names lists the built-in filters, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		// The embedded root always exists; an error here is a build defect.
		panic("builtin: read embedded filters: " + err.Error())
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".toml"); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
