package pkgbuild

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Module is one Go module linked into the binary, with the licence files
// found at the root of its directory in the module cache.
type Module struct {
	Path     string
	Version  string
	Licenses []LicenseFile // the main licence first, then NOTICE, PATENTS, third-party files
}

// LicenseFile is one licence-like file of a module.
type LicenseFile struct {
	Name string
	Text string
}

// ParseBuildInfo reads `go version -m BINARY` output and returns the Go
// version and the dependency modules (after replacements), sorted by path.
func ParseBuildInfo(out []byte) (goVersion string, deps []Module, err error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if i := strings.LastIndex(line, ": "); i >= 0 {
				goVersion = strings.TrimSpace(line[i+2:])
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "dep":
			deps = append(deps, Module{Path: f[1], Version: f[2]})
		case "=>": // the replacement of the dep line above it
			if len(deps) == 0 {
				return "", nil, fmt.Errorf("build info: replacement %q without a dependency", line)
			}
			deps[len(deps)-1] = Module{Path: f[1], Version: f[2]}
		}
	}
	if goVersion == "" {
		return "", nil, fmt.Errorf("build info: no Go version in %q", firstLine(out))
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Path < deps[j].Path })
	return goVersion, deps, sc.Err()
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// licenseName matches the files of a module directory that carry licence
// terms, notices or patent grants.
var licenseName = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|patents|unlicense)([-._].*)?$`)

// ReadLicenses fills m.Licenses from the module's directory: LICENSE or
// COPYING first (the terms), then the rest in name order.
func ReadLicenses(m *Module, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("module %s@%s: %w", m.Path, m.Version, err)
	}
	var files []LicenseFile
	for _, e := range ents {
		if e.IsDir() || !licenseName.MatchString(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("module %s@%s: %w", m.Path, m.Version, err)
		}
		files = append(files, LicenseFile{Name: e.Name(), Text: string(data)})
	}
	rank := func(n string) int {
		u := strings.ToUpper(n)
		switch {
		case u == "LICENSE" || u == "LICENCE" || u == "COPYING" || u == "LICENSE.MD" || u == "LICENSE.TXT":
			return 0
		case strings.HasPrefix(u, "LICEN") || strings.HasPrefix(u, "COPYING"):
			return 1
		default:
			return 2
		}
	}
	sort.SliceStable(files, func(i, j int) bool {
		if ri, rj := rank(files[i].Name), rank(files[j].Name); ri != rj {
			return ri < rj
		}
		return files[i].Name < files[j].Name
	})
	if len(files) == 0 || rank(files[0].Name) > 1 {
		return fmt.Errorf("module %s@%s: no LICENSE or COPYING file in %s", m.Path, m.Version, dir)
	}
	m.Licenses = files
	return nil
}

// Classify names the licence of text with its Debian (DEP-5) short name,
// or "" when it is none of the few this recognises.
func Classify(text string) string {
	t := strings.Join(strings.Fields(text), " ")
	has := func(s string) bool { return strings.Contains(t, s) }
	var names []string
	switch {
	case has("Permission is hereby granted, free of charge"):
		names = append(names, "Expat")
	case has("Redistribution and use in source and binary forms") && (has("Neither the name") || has("names of its contributors")):
		names = append(names, "BSD-3-clause")
	case has("Redistribution and use in source and binary forms"):
		names = append(names, "BSD-2-clause")
	case has("Permission to use, copy, modify, and/or distribute this software"):
		names = append(names, "ISC")
	case has("Mozilla Public License Version 2.0") || has("Mozilla Public License, v. 2.0"):
		names = append(names, "MPL-2.0")
	}
	if has("Apache License") && (has("Version 2.0") || has("version 2.0")) {
		names = append(names, "Apache-2.0")
	}
	return strings.Join(names, " and ")
}

// commonLicense is where Debian's base-files keeps the licences that a
// copyright file refers to instead of repeating them (lintian checks this).
var commonLicense = map[string]string{
	"Apache-2.0": "/usr/share/common-licenses/Apache-2.0",
	"MPL-2.0":    "/usr/share/common-licenses/MPL-2.0",
}

// copyrightLine matches a "Copyright (c) 2013 Name" line; template lines such
// as Apache's "Copyright [yyyy] [name of copyright owner]" are skipped.
var copyrightLine = regexp.MustCompile(`(?i)^\s*copyright\s+(?:\(c\)\s*|©\s*)?(.*\S)\s*$`)

// Holders returns the copyright statements of a licence text.
func Holders(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := copyrightLine.FindStringSubmatch(line)
		if m == nil || strings.ContainsAny(m[1], "[]{}") || !regexp.MustCompile(`[0-9]{4}|[A-Z]`).MatchString(m[1]) {
			continue
		}
		h := strings.TrimSuffix(strings.TrimSuffix(m[1], "All rights reserved."), " ")
		h = strings.TrimSuffix(h, ",")
		if strings.HasPrefix(strings.ToLower(h), "notice") || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out
}

// Project is what the copyright file says of rampart itself.
type Project struct {
	Name, Source string
	License      LicenseFile // the repository's LICENSE; empty when it has none
}

// Copyright renders /usr/share/doc/PKG/copyright in the machine-readable
// format (DEP-5): rampart itself, the Go standard library and runtime
// (goLicense, GOROOT/LICENSE) and every module linked into the binary, each
// with its licence text, or a pointer to /usr/share/common-licenses for the
// licences Debian ships there, and its NOTICE/PATENTS/third-party files.
func Copyright(p Project, goVersion string, goLicense string, mods []Module) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
	fmt.Fprintf(&b, "Upstream-Name: %s\nSource: %s\n", p.Name, p.Source)
	field(&b, "Comment", fmt.Sprintf("/usr/sbin/rampart is one static Go binary: besides rampart's own code it "+
		"contains the Go %s standard library and runtime and the Go modules listed below, "+
		"generated from the binary's module list (go version -m) with each module's licence "+
		"files from the Go module cache.", strings.TrimPrefix(goVersion, "go")))
	b.WriteString("\n")

	b.WriteString("Files: *\n")
	if p.License.Text == "" {
		field(&b, "Copyright", "the rampart authors")
		b.WriteString("License: unspecified\n")
		block(&b, "The rampart repository carries no LICENSE file yet; until it does, "+
			"no licence is granted beyond what the authors state elsewhere.")
	} else {
		if err := licenseParagraph(&b, "rampart", p.License, nil); err != nil {
			return nil, err
		}
	}
	b.WriteString("\n")

	b.WriteString("Files: go/*\n")
	if err := licenseParagraph(&b, "the Go standard library", LicenseFile{Name: "LICENSE", Text: goLicense},
		[]string{"Go " + strings.TrimPrefix(goVersion, "go") + " standard library and runtime (GOROOT/LICENSE)."}); err != nil {
		return nil, err
	}
	for _, m := range mods {
		b.WriteString("\n")
		fmt.Fprintf(&b, "Files: %s/*\n", m.Path)
		comment := []string{fmt.Sprintf("Go module %s %s, linked into /usr/sbin/rampart.", m.Path, m.Version)}
		for _, extra := range m.Licenses[1:] {
			comment = append(comment, "The module's "+extra.Name+":", ShortenApache(extra.Text))
		}
		if err := licenseParagraph(&b, m.Path+"@"+m.Version, m.Licenses[0], comment); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// licenseParagraph writes the Copyright, License and Comment fields of one
// Files paragraph.
func licenseParagraph(b *bytes.Buffer, what string, lf LicenseFile, comment []string) error {
	name := Classify(lf.Text)
	if name == "" {
		return fmt.Errorf("copyright: %s: licence in %s not recognised; add it to pkgbuild.Classify", what, lf.Name)
	}
	holders := Holders(lf.Text)
	if len(holders) == 0 {
		holders = []string{"the authors of " + what}
	}
	field(b, "Copyright", strings.Join(holders, "\n"))
	if path, ok := commonLicense[name]; ok && !strings.Contains(name, " and ") {
		fmt.Fprintf(b, "License: %s\n", name)
		block(b, fmt.Sprintf("On Debian systems the full text of the %s licence is in %s.", name, path))
	} else {
		fmt.Fprintf(b, "License: %s\n", name)
		block(b, ShortenApache(lf.Text))
	}
	if len(comment) > 0 {
		field(b, "Comment", strings.Join(comment, "\n\n"))
	}
	return nil
}

// field writes "Name: first line" and the rest as continuation lines.
func field(b *bytes.Buffer, name, value string) {
	lines := strings.Split(strings.TrimSpace(value), "\n")
	fmt.Fprintf(b, "%s: %s\n", name, strings.TrimSpace(lines[0]))
	if len(lines) > 1 {
		if strings.TrimSpace(lines[1]) == "" {
			b.WriteString(" .\n")
		}
		block(b, strings.Join(lines[1:], "\n"))
	}
}

// block writes text as DEP-5 continuation lines: one space in front, an
// empty line as " .".
func block(b *bytes.Buffer, text string) {
	text = strings.Trim(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	prevEmpty := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(strings.ReplaceAll(line, "\t", "    "), " ")
		if line == "" {
			if !prevEmpty {
				b.WriteString(" .\n")
			}
			prevEmpty = true
			continue
		}
		prevEmpty = false
		if line == "." { // " ." alone would read as an empty line
			line = ".."
		}
		b.WriteString(" " + line + "\n")
	}
}

// ShortenApache replaces every full copy of the Apache License 2.0 in text
// (from its title to the end of the terms, and the appendix after them)
// with a pointer to Debian's copy, as lintian asks
// (copyright-file-contains-full-apache-2-license). Third-party notices of
// some modules carry the full text.
func ShortenApache(text string) string {
	lines := strings.Split(text, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "Apache License" && i+1 < len(lines) &&
			strings.Contains(lines[i+1], "Version 2.0, January 2004") {
			end := -1
			for j := i + 1; j < len(lines); j++ {
				if strings.Contains(lines[j], "END OF TERMS AND CONDITIONS") {
					end = j
					break
				}
			}
			if end < 0 {
				out = append(out, lines[i])
				continue
			}
			// The appendix (how to apply the licence) ends with its boilerplate.
			for j := end + 1; j < len(lines) && j < end+40; j++ {
				if strings.Contains(lines[j], "limitations under the License.") {
					end = j
					break
				}
			}
			out = append(out, "The Apache License, Version 2.0: on Debian systems its full text is in "+commonLicense["Apache-2.0"]+".")
			i = end
			continue
		}
		out = append(out, lines[i])
	}
	return strings.Join(out, "\n")
}
