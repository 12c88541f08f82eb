// Command mkdist builds rampart's release artifacts into dist/: the Debian
// packages (rampart_VERSION_ARCH.deb, with nfpm) and the tarballs
// (rampart_VERSION_linux_ARCH.tar.gz), plus dist/SHA256SUMS. `make deb`
// and `make dist` run it; see docs/INSTALL.md.
//
//	go run ./cmd/mkdist [-arch amd64,arm64] [-out dist] [-version V] deb|tar|all
//
// The version comes from `git describe` unless -version (or $VERSION) is
// given; file dates come from $SOURCE_DATE_EPOCH, or the commit's time.
// It prints the path of each artifact on standard output (progress goes to
// standard error), so scripts/install.sh can hand the package to apt.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/pkgbuild"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("mkdist", flag.ContinueOnError)
	arches := fs.String("arch", "amd64,arm64", "GOARCH values to build, comma-separated")
	out := fs.String("out", "dist", "directory for the artifacts")
	version := fs.String("version", os.Getenv("VERSION"), "Debian upstream version (default: from git describe)")
	revision := fs.String("revision", "1", "Debian revision")
	root := fs.String("root", ".", "the rampart checkout")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mkdist [flags] deb|tar|all")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || !strings.Contains("deb tar all", fs.Arg(0)) {
		fs.Usage()
		return 2
	}
	what := fs.Arg(0)
	var epoch time.Time
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdist: SOURCE_DATE_EPOCH=%q: not Unix seconds\n", s)
			return 2
		}
		epoch = time.Unix(sec, 0).UTC()
	}
	work, err := os.MkdirTemp("", "mkdist-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdist: %v\n", err)
		return 1
	}
	defer os.RemoveAll(work)
	rel, err := pkgbuild.Stage(pkgbuild.Options{
		Root: *root, Work: work, Arches: strings.Split(*arches, ","),
		Upstream: *version, Revision: *revision, Epoch: epoch, Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdist: %v\n", err)
		return 1
	}
	var names []string
	for _, arch := range strings.Split(*arches, ",") {
		if what == "deb" || what == "all" {
			p, err := rel.Deb(arch, *out)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mkdist: %v\n", err)
				return 1
			}
			names = append(names, filepath.Base(p))
			fmt.Println(p)
		}
		if what == "tar" || what == "all" {
			p, err := rel.Tarball(arch, *out)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mkdist: %v\n", err)
				return 1
			}
			names = append(names, filepath.Base(p))
			fmt.Println(p)
		}
	}
	if err := pkgbuild.WriteSums(*out, names); err != nil {
		fmt.Fprintf(os.Stderr, "mkdist: %v\n", err)
		return 1
	}
	return 0
}
