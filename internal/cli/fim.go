package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/fim"
	"github.com/rampart-ids/rampart/internal/fim/dpkg"
)

// fimFlags are the flags every fim subcommand takes.
type fimFlags struct {
	config, root, baseline, cache string
	paths, exclude                []string
	asJSON, full                  bool
	workers                       int
}

func (f *fimFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "read the [fim] section of `FILE` (default "+config.DefaultPath+" if present, and its rampart.d)")
	fl.StringVar(&f.root, "root", "", "check the filesystem under `DIR` (a mounted image): configured paths are taken under it")
	fl.StringVar(&f.baseline, "baseline", "", "baseline `FILE` (default: fim.baseline of the config, "+fim.DefaultBaselinePath+")")
	fl.StringArrayVar(&f.paths, "path", nil, "record `PATH` instead of fim.paths (repeatable; shell patterns allowed)")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "also skip `PATTERN` (repeatable; with a slash: a path, without: a base name)")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object per line")
	fl.IntVar(&f.workers, "workers", 0, "hashing goroutines (default: one per CPU, at most 16)")
}

// options turns the flags and the config file into fim.Options.
// load reads the options and the baseline they name; a baseline that
// does not load is bad input (exit 2).
func (f *fimFlags) load(g *globals) (fim.Options, *fim.Baseline, error) {
	opts, err := f.options(g)
	if err != nil {
		return opts, nil, err
	}
	b, err := fim.Load(opts.Config.Baseline)
	if err != nil {
		return opts, nil, usageErr(err)
	}
	return opts, b, nil
}

func (f *fimFlags) options(g *globals) (fim.Options, error) {
	cfg, err := loadFimConfig(f.config)
	if err != nil {
		return fim.Options{}, usageErr(err)
	}
	if len(f.paths) > 0 {
		cfg.Paths = f.paths
	}
	cfg.Exclude = append(cfg.Exclude, f.exclude...)
	if f.baseline != "" {
		cfg.Baseline = f.baseline
	}
	if err := cfg.Validate(); err != nil {
		return fim.Options{}, usageErr(err)
	}
	return fim.Options{
		Root: f.root, Config: cfg, Full: f.full, Workers: f.workers, By: fim.Invoker(),
		Warn: func(p string, err error) {
			fmt.Fprintf(g.stderr, "rampart: fim: %s: %v\n", quoteOdd(p), err)
		},
	}, nil
}

// loadFimConfig reads the [fim] section of the configuration at file (the
// default file, when file is empty, if it exists), checked like every
// other section: an unknown key or bad value names its file and line.
func loadFimConfig(file string) (fim.Config, error) {
	opt := config.Options{SkipFileChecks: true}
	if file == "" {
		file, opt.MissingOK = config.DefaultPath, true
	}
	c, err := config.LoadWith(file, opt)
	if err != nil {
		return fim.Config{}, err
	}
	return fim.Config{
		Enabled: c.FIM.Enabled, Paths: c.FIM.Paths, Exclude: c.FIM.Exclude, Realtime: c.FIM.Realtime,
		Schedule: c.FIM.Schedule.String(), Baseline: c.FIM.Baseline,
	}, nil
}

func newFimCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fim",
		Short: "File integrity: record a baseline of files and report what changed",
		Long: `rampart fim records the content hash (SHA-256), size, mode, owner, group,
times, inode, link target and extended attributes (file capabilities
included) of every file under fim.paths in a baseline, and reports what
changed since: content, mode, SUID/SGID added, owner, group, new, removed,
type, link target, capability or other extended attribute.

A content change to a file a Debian package owns is judged against the
package database: "package upgrade: pkg 1.2 → 1.3" when the file is what
the new package ships, "tampered" when it differs from it.

Exit status: 0 no change, 1 changes (or problems) found, 2 bad usage or
input (including a truncated or tampered baseline, which is refused).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newFimInitCmd(g), newFimCheckCmd(g), newFimAcceptCmd(g), newFimVerifyCmd(g), newFimWatchCmd(g))
	return cmd
}

func newFimInitCmd(g *globals) *cobra.Command {
	var f fimFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Take the current state of fim.paths as the baseline (replacing any)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(g)
			if err != nil {
				return err
			}
			rep, err := fim.Init(cmd.Context(), opts)
			if err != nil {
				return usageErr(err)
			}
			return printFimSummary(g.stdout, f.asJSON, "init", opts, rep)
		},
	}
	f.register(cmd)
	return cmd
}

func newFimCheckCmd(g *globals) *cobra.Command {
	var f fimFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Compare fim.paths with the baseline and list every change",
		Long: `rampart fim check lists every change since the baseline, one per line
(with --json: one object per line with path, kind, old, new and, for a
packaged file, package: name, versions and verdict).

Files whose inode, size, mtime and ctime are unchanged are not read again;
--full reads every file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, b, err := f.load(g)
			if err != nil {
				return err
			}
			rep, err := fim.Check(cmd.Context(), b, opts)
			if err != nil {
				return usageErr(err)
			}
			if err := printChanges(g.stdout, f.asJSON, rep.Changes); err != nil {
				return err
			}
			if !f.asJSON {
				fmt.Fprintf(g.stdout, "%d changes (%d not explained by a package run) in %d files (%d read); baseline of %s by %s\n",
					len(rep.Changes), rep.Tampering(), rep.Files, rep.Hashed, rep.Meta.Updated.Local().Format(time.RFC3339), lastBy(rep.Meta))
			}
			switch {
			case len(rep.Changes) > 0:
				return silentExit(ExitFail)
			case rep.Warnings > 0:
				return failErr(fmt.Errorf("fim check: %d files could not be read (above); the check is incomplete", rep.Warnings))
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.full, "full", false, "read and hash every file, even those whose inode, size, mtime and ctime are unchanged")
	return cmd
}

func lastBy(m fim.Meta) string {
	if n := len(m.Accepts); n > 0 {
		return m.Accepts[n-1].By
	}
	return m.CreatedBy
}

func newFimAcceptCmd(g *globals) *cobra.Command {
	var f fimFlags
	cmd := &cobra.Command{
		Use:   "accept [PATH...]",
		Short: "Take the current state (of PATHs, or everything) as the new baseline",
		Long: `rampart fim accept takes what is on disk now as the baseline, for the
given paths (and what is under them) or, without any, for everything. It
prints the changes it accepted and records in the baseline who ran it
(SUDO_USER, or the user) and when.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, b, err := f.load(g)
			if err != nil {
				return err
			}
			rep, err := fim.Accept(cmd.Context(), b, args, opts)
			if err != nil {
				return usageErr(err)
			}
			if err := printChanges(g.stdout, f.asJSON, rep.Changes); err != nil {
				return err
			}
			return printFimSummary(g.stdout, f.asJSON, "accept", opts, rep)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.full, "full", false, "read and hash every file")
	return cmd
}

func newFimVerifyCmd(g *globals) *cobra.Command {
	var f fimFlags
	cmd := &cobra.Command{
		Use:   "verify-packages",
		Short: "Compare every packaged file with its package's md5 sum (like debsums, in parallel)",
		Long: `rampart fim verify-packages reads /var/lib/dpkg/info/*.md5sums (under
--root) and reports every packaged file that differs from what its package
shipped (tampered), is missing, or is no longer a regular file. It needs no
baseline. Conffiles are not in md5sums and are not checked.

A cache (--cache) remembers the files found intact with their inode, size,
mtime and ctime; the next run reads only files whose lstat moved (any write
moves ctime, which cannot be set back). --full reads everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := strings.TrimRight(f.root, "/")
			if root != "" {
				if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
					return usageErr(fmt.Errorf("--root %s: not a directory", f.root))
				}
			}
			db, err := dpkg.Open(root)
			if err != nil {
				return usageErr(err)
			}
			cacheFile := f.cache
			if cacheFile == "" && root == "" {
				cacheFile = fim.DefaultPackageCachePath
			}
			var cache *fim.PackageCache
			if cacheFile != "" {
				cache, err = fim.LoadPackageCache(cacheFile, root)
				if err != nil {
					fmt.Fprintf(g.stderr, "rampart: fim: %v\n", err)
				}
				if f.full {
					if cache, err = fim.NewPackageCache(root); err != nil {
						return usageErr(err)
					}
				}
			}
			var dc dpkg.Cache
			if cache != nil {
				dc = cache
			}
			res, err := db.Verify(cmd.Context(), f.workers, dc)
			if err != nil {
				return usageErr(err)
			}
			if cache != nil {
				if err := cache.Save(cacheFile, time.Now()); err != nil {
					fmt.Fprintf(g.stderr, "rampart: fim: package cache: %v\n", err)
				}
			}
			for _, p := range res.Problems {
				if f.asJSON {
					line, _ := json.Marshal(p)
					fmt.Fprintf(g.stdout, "%s\n", line)
					continue
				}
				fmt.Fprintf(g.stdout, "%-10s %s (%s %s)", p.Kind, quoteOdd(p.Path), p.Package, p.Version)
				if p.Error != "" {
					fmt.Fprintf(g.stdout, ": %s", p.Error)
				}
				fmt.Fprintln(g.stdout)
			}
			if !f.asJSON {
				fmt.Fprintf(g.stdout, "%d problems in %d packaged files (%d read, the others unchanged since they last matched)\n", len(res.Problems), res.Files, res.Hashed)
			}
			if len(res.Problems) > 0 {
				return silentExit(ExitFail)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.root, "root", "", "verify the filesystem under `DIR` with its own dpkg database")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print one JSON object per problem")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "hashing goroutines (default: one per CPU, at most 16)")
	cmd.Flags().StringVar(&f.cache, "cache", "", "remember intact files in `FILE` and read only those whose inode, size, mtime or ctime moved (default "+fim.DefaultPackageCachePath+" without --root; none with --root)")
	cmd.Flags().BoolVar(&f.full, "full", false, "read every packaged file, trusting no cache (the cache is rewritten)")
	return cmd
}

func newFimWatchCmd(g *globals) *cobra.Command {
	var f fimFlags
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Report changes to fim.realtime paths as they happen (inotify), until interrupted",
		Long: `rampart fim watch watches the fim.realtime paths with inotify and prints
each change (against the baseline, then against what it last saw) within
about a second. It runs until interrupted (SIGINT or SIGTERM).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, b, err := f.load(g)
			if err != nil {
				return err
			}
			w, err := fim.NewWatcher(b, opts)
			if err != nil {
				return usageErr(err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n := 0
			err = w.Run(ctx, func(c fim.Change) {
				n++
				printChanges(g.stdout, f.asJSON, []fim.Change{c})
			})
			if err != nil {
				return failErr(err)
			}
			if n > 0 {
				return silentExit(ExitFail)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func quoteOdd(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd || r == ' ' || r == '"' {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

func printChanges(w io.Writer, asJSON bool, cs []fim.Change) error {
	for _, c := range cs {
		if asJSON {
			line, err := json.Marshal(c)
			if err != nil {
				return fmt.Errorf("fim: %w", err)
			}
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		fmt.Fprintln(w, c.String())
	}
	return nil
}

func printFimSummary(w io.Writer, asJSON bool, verb string, opts fim.Options, rep *fim.Report) error {
	digest := "sha256:" + hex.EncodeToString(rep.Digest[:])
	if asJSON {
		line, err := json.Marshal(map[string]any{
			"baseline": opts.Config.Baseline, "files": rep.Files, "read": rep.Hashed,
			"unreadable": rep.Warnings, "digest": digest, "by": opts.By, "verb": verb,
		})
		if err != nil {
			return errors.New("fim: summary")
		}
		fmt.Fprintf(w, "%s\n", line)
		return nil
	}
	fmt.Fprintf(w, "baseline %s written (%s): %d files, %d read, %d unreadable; digest %s\n",
		opts.Config.Baseline, verb, rep.Files, rep.Hashed, rep.Warnings, digest)
	return nil
}
