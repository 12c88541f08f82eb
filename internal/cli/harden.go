package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/audit"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/harden"
)

// hardenFlags are the flags harden and its subcommands share.
type hardenFlags struct {
	config, stateDir string
	json             bool
}

func (f *hardenFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.config, "config", "", "rampart configuration `FILE` (state directory, [baseline]; default "+config.DefaultPath+" if present)")
	c.Flags().StringVar(&f.stateDir, "state-dir", "", "where change sets are kept, `DIR` (default: [daemon] state_dir, under harden/)")
	c.Flags().BoolVar(&f.json, "json", false, "print JSON")
}

// state returns the state directory: --state-dir, else the configuration's.
func (f *hardenFlags) state() (string, error) {
	if f.stateDir != "" {
		return f.stateDir, nil
	}
	opt := config.Options{SkipFileChecks: true}
	file := f.config
	if file == "" {
		file, opt.MissingOK = config.DefaultPath, true
	}
	c, err := config.LoadWith(file, opt)
	if err != nil {
		return "", usageErr(err)
	}
	return c.Daemon.StateDir, nil
}

// hardenAreas is every area, in the order they run.
func hardenAreas() []harden.Area { return harden.Areas() }

func newHardenCmd(g *globals) *cobra.Command {
	var (
		f                      hardenFlags
		root, auditConfig      string
		dryRun, yes, force     bool
		opt                    harden.Options
		allowUsers, allowGroup []string
	)
	cmd := &cobra.Command{
		Use:   "harden [AREA...]",
		Short: "Fix what the audit finds: shown as diffs first, applied atomically, verified, undoable",
		Long: `rampart harden plans the fixes for the audit's failing checks in each AREA
(default: all of ` + strings.Join(areaNames(hardenAreas()), ", ") + `), shows every file change as a
unified diff, and with --yes applies them: each file is validated on a staged
copy, the change set (every file's previous content and checksum) is recorded
in the state directory, the files are installed atomically, and the services
reloaded. The audit then runs again and the score before and after is printed,
with the checks fixed and those still failing.

With --root DIR the files under DIR are planned and changed, and nothing is
reloaded. 'rampart harden undo' restores a change set exactly. Without --yes
the plan is shown and, on a terminal, confirmed interactively. See
docs/HARDEN.md.

Exit status: 0 applied (or nothing to do, or --dry-run), 1 refused, not
confirmed or a reload failed, 2 bad usage.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dryRun && yes {
				return usageErr(errors.New("harden: --dry-run and --yes exclude each other"))
			}
			areas, err := pickAreas(hardenAreas(), args)
			if err != nil {
				return usageErr(err)
			}
			live := root == ""
			if !live {
				// Absolute, so the change set can be undone from anywhere.
				abs, err := filepath.Abs(root)
				if err != nil {
					return usageErr(fmt.Errorf("--root: %w", err))
				}
				root = abs
				fi, err := os.Stat(root)
				if err != nil {
					return usageErr(fmt.Errorf("--root: %w", err))
				}
				if !fi.IsDir() {
					return usageErr(fmt.Errorf("--root %s: not a directory", root))
				}
			} else {
				root = "/"
			}
			acfg, err := loadAuditConfig(cmd, auditConfig, strings.TrimSuffix(root, "/"))
			if err != nil {
				return usageErr(err)
			}
			state := ""
			if !dryRun {
				if state, err = f.state(); err != nil {
					return err
				}
			}
			opt.Force, opt.AllowUsers, opt.AllowGroups = force, allowUsers, allowGroup
			if force {
				fmt.Fprintln(g.stderr, "WARNING: --force overrides the areas' guards (the ssh key-login guard, the firewall lock-out guard)")
			}
			env := &harden.Env{Root: root, Live: live, StateDir: state, Config: f.config, Options: opt,
				Run: harden.ExecRunner, AuditConfig: acfg}
			return runHarden(cmd.Context(), g, env, areas, f.json, dryRun, yes)
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&root, "root", "", "plan and change the files under `DIR` (an image or container); nothing is reloaded")
	fl.StringVar(&auditConfig, "audit-config", "", "audit config `FILE` with declared facts (default "+audit.DefaultConfigPath+" if present)")
	fl.BoolVar(&dryRun, "dry-run", false, "show the plan only")
	fl.BoolVar(&yes, "yes", false, "apply without asking")
	fl.BoolVar(&force, "force", false, "override a guard (loudly)")
	fl.StringVar(&opt.RebootWindow, "reboot-window", "", "updates: reboot after upgrades that need it, at `HH:MM`")
	fl.StringVar(&opt.Confirm, "confirm", "", "firewall/ssh: commit-confirmed window `D` for firewall changes (default 120s)")
	fl.IntVar(&opt.Port, "port", 0, "ssh: move sshd to port `N`")
	fl.StringSliceVar(&allowUsers, "allow-users", nil, "ssh: AllowUsers in the drop-in (comma-separated)")
	fl.StringSliceVar(&allowGroup, "allow-groups", nil, "ssh: AllowGroups in the drop-in (comma-separated)")
	cmd.AddCommand(newHardenListCmd(g), newHardenUndoCmd(g))
	return cmd
}

func areaNames(as []harden.Area) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name()
	}
	return out
}

// pickAreas returns the areas named in args, in run order; all when none.
func pickAreas(all []harden.Area, args []string) ([]harden.Area, error) {
	if len(args) == 0 {
		return all, nil
	}
	names := areaNames(all)
	for _, a := range args {
		if !slices.Contains(names, a) {
			return nil, fmt.Errorf("harden: unknown area %q (areas: %s)", a, strings.Join(names, ", "))
		}
	}
	var out []harden.Area
	for _, a := range all {
		if slices.Contains(args, a.Name()) {
			out = append(out, a)
		}
	}
	return out, nil
}

// hardenReport is the JSON output of harden.
type hardenReport struct {
	Plan        *harden.Plan   `json:"plan"`
	Applied     bool           `json:"applied"`
	Result      *harden.Result `json:"result,omitempty"`
	ScoreBefore int            `json:"score_before"`
	ScoreAfter  *int           `json:"score_after,omitempty"`
	Fixed       []string       `json:"fixed"`
	StillFailed []stillFailing `json:"still_failing"`
	Regressed   []string       `json:"regressed"`
	// NotFixable are the other failing checks of the applied areas: what
	// harden has no safe fix for (a package to install, a decision).
	NotFixable []stillFailing `json:"not_fixable"`
	Error      string         `json:"error,omitempty"`
}

type stillFailing struct {
	ID          string       `json:"id"`
	Status      audit.Status `json:"status"`
	Evidence    string       `json:"evidence"`
	Remediation string       `json:"remediation,omitempty"`
}

func runHarden(ctx context.Context, g *globals, env *harden.Env, areas []harden.Area, asJSON, dryRun, yes bool) error {
	before := audit.Run(ctx, env.Audit(), audit.Checks(), audit.Options{})
	plan := harden.MakePlan(ctx, env, areas)
	rep := &hardenReport{Plan: plan, ScoreBefore: before.Score, Fixed: []string{}, StillFailed: []stillFailing{}, Regressed: []string{}, NotFixable: []stillFailing{}}
	out := g.stdout
	if !asJSON {
		plan.WriteText(out)
	}
	refused := plan.Refused()
	finish := func(err error) error {
		if err != nil {
			rep.Error = err.Error()
		}
		if asJSON {
			if perr := printJSON(out, rep); perr != nil {
				return perr
			}
		}
		return err
	}
	switch {
	case dryRun:
		if !asJSON {
			fmt.Fprintf(out, "dry run: nothing changed (score now %d)\n", before.Score)
		}
		if len(refused) > 0 {
			return finish(failErr(fmt.Errorf("harden: %s refused: %s", refused[0].Area, refused[0].Refused)))
		}
		return finish(nil)
	case len(refused) > 0:
		return finish(failErr(fmt.Errorf("harden: %s refused, nothing applied: %s (name the other areas to apply them alone)", refused[0].Area, refused[0].Refused)))
	case plan.Empty():
		if !asJSON {
			fmt.Fprintf(out, "nothing to change (score %d)\n", before.Score)
		}
		return finish(nil)
	case !yes:
		if !isTTY(g.stdout) || !isTTY(g.stdin) {
			return finish(failErr(errors.New("harden: not applied: not a terminal to ask on; run again with --yes to apply (or --dry-run to only show)")))
		}
		fmt.Fprint(g.stderr, "Apply these changes? [y/N] ")
		line, _ := bufio.NewReader(g.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return finish(failErr(errors.New("harden: not applied (not confirmed)")))
		}
	}
	res, err := harden.Execute(ctx, env, plan, time.Now())
	rep.Result = res
	if err != nil {
		return finish(failErr(err))
	}
	rep.Applied = true
	after := audit.Run(ctx, env.Audit(), audit.Checks(), audit.Options{})
	rep.ScoreAfter = &after.Score
	prev := map[string]audit.Status{}
	for _, f := range before.Checks {
		prev[f.ID] = f.Status
	}
	planned := plan.Checks()
	for _, f := range after.Checks {
		was := prev[f.ID]
		switch {
		case f.Status == audit.Pass && (was == audit.Fail || was == audit.Warn):
			rep.Fixed = append(rep.Fixed, f.ID)
		case f.Status == audit.Fail && was == audit.Pass:
			rep.Regressed = append(rep.Regressed, f.ID)
		}
		switch {
		case slices.Contains(planned, f.ID) && f.Status != audit.Pass:
			rep.StillFailed = append(rep.StillFailed, stillFailing{f.ID, f.Status, f.Evidence, f.Remediation})
		case f.Status == audit.Fail && slices.Contains(res.Areas, string(f.Area)):
			rep.NotFixable = append(rep.NotFixable, stillFailing{f.ID, f.Status, f.Evidence, f.Remediation})
		}
	}
	if !asJSON {
		writeHardenResult(out, env, rep, after)
	}
	if res.ReloadFailed() {
		return finish(failErr(fmt.Errorf("harden: files installed (change set %s) but a reload failed; fix it, or rampart harden undo %s", res.ChangeSet, res.ChangeSet)))
	}
	return finish(nil)
}

func writeHardenResult(w io.Writer, env *harden.Env, rep *hardenReport, after *audit.Report) {
	res := rep.Result
	fmt.Fprintf(w, "applied change set %s: %d file(s) in %s (undo: rampart harden undo %s)\n", res.ChangeSet, len(res.Files), strings.Join(res.Areas, ", "), res.ChangeSet)
	if !env.Live {
		fmt.Fprintln(w, "nothing reloaded (--root)")
	}
	for _, a := range res.Activated {
		fmt.Fprintf(w, "activated: %s\n", a)
	}
	for _, r := range res.Reloads {
		if r.Error != "" {
			fmt.Fprintf(w, "reload FAILED: %s: %s %s\n", r.Command, r.Error, r.Output)
		} else {
			fmt.Fprintf(w, "reloaded: %s\n", r.Command)
		}
	}
	fmt.Fprintf(w, "\nscore: %d -> %d\n", rep.ScoreBefore, after.Score)
	if len(rep.Fixed) > 0 {
		fmt.Fprintf(w, "fixed (%d): %s\n", len(rep.Fixed), strings.Join(rep.Fixed, ", "))
	}
	for _, s := range rep.StillFailed {
		fmt.Fprintf(w, "still %s: %s: %s\n", s.Status, s.ID, s.Evidence)
	}
	if len(rep.Regressed) > 0 {
		fmt.Fprintf(w, "now failing (passed before): %s\n", strings.Join(rep.Regressed, ", "))
	}
	if len(rep.NotFixable) > 0 {
		fmt.Fprintf(w, "\nstill failing in these areas, no safe automatic fix (%d):\n", len(rep.NotFixable))
		for _, s := range rep.NotFixable {
			fmt.Fprintf(w, "  %s: %s\n    fix: %s\n", s.ID, s.Evidence, s.Remediation)
		}
	}
}

// isTTY reports whether v (stdin or stdout) is a terminal, whatever
// NO_COLOR says (isTerminal is about colour).
func isTTY(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func newHardenListCmd(g *globals) *cobra.Command {
	var f hardenFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "List the recorded change sets, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			state, err := f.state()
			if err != nil {
				return err
			}
			sets, err := harden.List(state)
			if err != nil {
				return failErr(err)
			}
			type entry struct {
				ID      string    `json:"id"`
				Created time.Time `json:"created"`
				Root    string    `json:"root"`
				Areas   []string  `json:"areas"`
				Files   []string  `json:"files"`
				Live    bool      `json:"live"`
			}
			list := []entry{}
			for _, cs := range sets {
				e := entry{ID: cs.ID, Created: cs.Created, Root: cs.Root, Areas: cs.Areas, Files: []string{}, Live: cs.Live}
				for _, fc := range cs.Files {
					e.Files = append(e.Files, fc.Path)
				}
				list = append(list, e)
			}
			if f.json {
				return printJSON(g.stdout, list)
			}
			if len(list) == 0 {
				fmt.Fprintf(g.stdout, "no change sets in %s\n", state)
				return nil
			}
			for _, e := range list {
				fmt.Fprintf(g.stdout, "%s  %s  root %s  %s: %s\n", e.ID, clock(e.Created), e.Root, strings.Join(e.Areas, ","), strings.Join(e.Files, " "))
			}
			return nil
		},
	}
	f.add(c)
	return c
}

func newHardenUndoCmd(g *globals) *cobra.Command {
	var (
		f     hardenFlags
		force bool
	)
	c := &cobra.Command{
		Use:   "undo [ID]",
		Short: "Restore the files of a change set (default: the newest) and repeat its reloads",
		Long: `Put back exactly what change set ID (default: the newest) replaced: each file's
previous content and mode, links and removed files restored, created files and
directories removed. A file changed since rampart wrote it is not overwritten
unless --force. On the live host the change set's reload commands run again.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			state, err := f.state()
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			cs, err := harden.Load(state, id)
			if err != nil {
				return failErr(err)
			}
			type undone struct {
				ID      string                `json:"id"`
				Root    string                `json:"root"`
				Files   []string              `json:"files"`
				Reloads []harden.ReloadResult `json:"reloads"`
				Error   string                `json:"error,omitempty"`
			}
			u := undone{ID: cs.ID, Root: cs.Root, Files: []string{}, Reloads: []harden.ReloadResult{}}
			for _, fc := range cs.Files {
				u.Files = append(u.Files, fc.Path)
			}
			unlock, err := harden.Lock(state)
			if err != nil {
				return failErr(err)
			}
			defer unlock()
			if err := harden.Undo(state, cs, force); err != nil {
				u.Error = err.Error()
				if f.json {
					printJSON(g.stdout, u)
				}
				return failErr(err)
			}
			u.Reloads = harden.RunReloads(cmd.Context(), harden.ExecRunner, cs.UndoCommands())
			if f.json {
				if err := printJSON(g.stdout, u); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(g.stdout, "undid change set %s: restored %s\n", cs.ID, strings.Join(u.Files, " "))
				for _, r := range u.Reloads {
					if r.Error != "" {
						fmt.Fprintf(g.stdout, "reload FAILED: %s: %s %s\n", r.Command, r.Error, r.Output)
					} else {
						fmt.Fprintf(g.stdout, "reloaded: %s\n", r.Command)
					}
				}
			}
			for _, r := range u.Reloads {
				if r.Error != "" {
					return failErr(fmt.Errorf("harden undo: files restored, but %s failed", r.Command))
				}
			}
			return nil
		},
	}
	f.add(c)
	c.Flags().BoolVar(&force, "force", false, "overwrite files changed since the change set wrote them")
	return c
}
