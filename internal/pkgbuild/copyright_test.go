package pkgbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBuildInfo(t *testing.T) {
	out := "/tmp/rampart: go1.26.8\n" +
		"\tpath\tgithub.com/rampart-ids/rampart/cmd/rampart\n" +
		"\tmod\tgithub.com/rampart-ids/rampart\t(devel)\t\n" +
		"\tdep\tgolang.org/x/sys\tv0.50.0\th1:x=\n" +
		"\tdep\tgithub.com/a/b\tv1.0.0\n" +
		"\t=>\tgithub.com/fork/b\tv1.0.1\th1:y=\n" +
		"\tbuild\tCGO_ENABLED=0\n"
	gv, mods, err := ParseBuildInfo([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{{Path: "github.com/fork/b", Version: "v1.0.1"}, {Path: "golang.org/x/sys", Version: "v0.50.0"}}
	if gv != "go1.26.8" || !cmp.Equal(mods, want) {
		t.Errorf("ParseBuildInfo = %q, %v; want go1.26.8, %v", gv, mods, want)
	}
	if _, _, err := ParseBuildInfo([]byte("garbage")); err == nil {
		t.Error("ParseBuildInfo(garbage) = nil error")
	}
}

func TestClassifyAndHolders(t *testing.T) {
	tests := []struct {
		text, license string
		holders       []string
	}{
		{"The MIT License (MIT)\n\nCopyright (c) 2013 TOML authors\n\nPermission is hereby granted, free of charge, to any person", "Expat", []string{"2013 TOML authors"}},
		{"Copyright 2009 The Go Authors.\n\nRedistribution and use in source and binary forms, with or without\nmodification... Neither the name of Google LLC", "BSD-3-clause", []string{"2009 The Go Authors."}},
		{"Copyright (c) 2011 Russ Ross. All rights reserved.\nRedistribution and use in source and binary forms", "BSD-2-clause", []string{"2011 Russ Ross."}},
		{"                                 Apache License\n                           Version 2.0, January 2004\n   Copyright [yyyy] [name of copyright owner]", "Apache-2.0", nil},
		{"Permission is hereby granted, free of charge ... Licensed under the Apache License, Version 2.0", "Expat and Apache-2.0", nil},
		{"All rights reserved, no terms.", "", nil},
	}
	for _, tt := range tests {
		if got := Classify(tt.text); got != tt.license {
			t.Errorf("Classify(%.40q) = %q, want %q", tt.text, got, tt.license)
		}
		if got := Holders(tt.text); !cmp.Equal(got, tt.holders) {
			t.Errorf("Holders(%.40q) = %q, want %q", tt.text, got, tt.holders)
		}
	}
}

func TestShortenApache(t *testing.T) {
	text := "before\n  Apache License\n  Version 2.0, January 2004\nTERMS\n  END OF TERMS AND CONDITIONS\n\nAPPENDIX\n limitations under the License.\nafter"
	got := ShortenApache(text)
	if strings.Contains(got, "TERMS") || strings.Contains(got, "APPENDIX") || !strings.HasPrefix(got, "before\n") || !strings.HasSuffix(got, "\nafter") ||
		!strings.Contains(got, "/usr/share/common-licenses/Apache-2.0") {
		t.Errorf("ShortenApache = %q", got)
	}
	if got := ShortenApache("Apache License\nno version line"); got != "Apache License\nno version line" {
		t.Errorf("ShortenApache changed a text without the licence: %q", got)
	}
}

// TestCopyrightFormat renders a copyright file from modules in a temporary
// module cache and checks the DEP-5 shape: paragraphs separated by one
// empty line, continuation lines start with a space, Apache-2.0 points to
// common-licenses.
func TestCopyrightFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "LICENSE"), []byte(text), 0o644)
		return p
	}
	mit := write("mit", "Copyright (c) 2020 Someone\n\nPermission is hereby granted, free of charge, to any person\n\n.\nend")
	apache := write("apache", "\n  Apache License\n  Version 2.0, January 2004\n")
	os.WriteFile(filepath.Join(apache, "NOTICE"), []byte("Notice text"), 0o644)
	mods := []Module{{Path: "example.org/mit", Version: "v1.0.0"}, {Path: "example.org/apache", Version: "v2.0.0"}}
	if err := ReadLicenses(&mods[0], mit); err != nil {
		t.Fatal(err)
	}
	if err := ReadLicenses(&mods[1], apache); err != nil {
		t.Fatal(err)
	}
	if err := ReadLicenses(&Module{Path: "x"}, t.TempDir()); err == nil {
		t.Error("ReadLicenses on a directory without a licence = nil error")
	}
	out, err := Copyright(Project{Name: "rampart", Source: "https://example.org"}, "go1.26.8",
		"Copyright 2009 The Go Authors.\nRedistribution and use in source and binary forms ... Neither the name", mods)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
		"\nFiles: example.org/mit/*\nCopyright: 2020 Someone\nLicense: Expat\n",
		"\nFiles: example.org/apache/*\n",
		"License: Apache-2.0\n On Debian systems the full text of the Apache-2.0 licence is in /usr/share/common-licenses/Apache-2.0.\n",
		"Comment: Go module example.org/apache v2.0.0, linked into /usr/sbin/rampart.\n .\n The module's NOTICE:\n .\n Notice text\n",
		"\nFiles: go/*\nCopyright: 2009 The Go Authors.\nLicense: BSD-3-clause\n",
		" .\n ..\n end\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("copyright lacks %q:\n%s", want, s)
		}
	}
	for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.Contains(l, "\t") || (l != "" && l[0] != ' ' && !strings.Contains(l, ": ")) {
			t.Errorf("line %d %q is neither a field nor a continuation", i+1, l)
		}
	}
	if strings.Contains(s, "\n\n\n") {
		t.Error("copyright has two empty lines in a row")
	}
}
