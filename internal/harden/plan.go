package harden

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"
)

// Change is one path a plan changes, with its unified diff.
type Change struct {
	Path string `json:"path"`
	// Kind is create, modify, link or remove.
	Kind string `json:"kind"`
	Link string `json:"link,omitempty"`
	Diff string `json:"diff,omitempty"`
}

// AreaPlan is what planning one area gave: a proposal, or why the area was
// skipped (does not apply here) or refused (a guard said no).
type AreaPlan struct {
	Area    string    `json:"area"`
	Skipped string    `json:"skipped,omitempty"`
	Refused string    `json:"refused,omitempty"`
	Checks  []string  `json:"checks"`
	Changes []Change  `json:"changes"`
	Actions []string  `json:"actions"`
	Reload  []Command `json:"reload"`

	Proposal *Proposal `json:"-"`
}

// Plan is the proposals of the chosen areas for one root.
type Plan struct {
	Root  string     `json:"root"`
	Live  bool       `json:"live"`
	Areas []AreaPlan `json:"areas"`
}

// MakePlan plans each area against env. An area that does not apply is
// skipped with its reason; one whose guard refuses is marked refused, and
// Execute will not run while any area is refused.
func MakePlan(ctx context.Context, env *Env, areas []Area) *Plan {
	p := &Plan{Root: env.Root, Live: env.Live}
	for _, a := range areas {
		ap := AreaPlan{Area: a.Name(), Checks: []string{}, Changes: []Change{}, Actions: []string{}, Reload: []Command{}}
		prop, err := a.Plan(ctx, env)
		var skip *SkipError
		switch {
		case errors.As(err, &skip):
			ap.Skipped = skip.Reason
		case err != nil:
			ap.Refused = err.Error()
		case prop != nil:
			ap.Proposal = prop
			ap.Checks = append(ap.Checks, prop.Checks...)
			ap.Actions = append(ap.Actions, prop.Actions...)
			ap.Reload = append(ap.Reload, prop.Reload...)
			for _, f := range prop.Files {
				ap.Changes = append(ap.Changes, describe(env.Root, f))
			}
		}
		p.Areas = append(p.Areas, ap)
	}
	return p
}

// Refused returns the areas whose guard refused.
func (p *Plan) Refused() []AreaPlan {
	var out []AreaPlan
	for _, a := range p.Areas {
		if a.Refused != "" {
			out = append(out, a)
		}
	}
	return out
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	for _, a := range p.Areas {
		if a.Proposal != nil && (len(a.Proposal.Files) > 0 || a.Proposal.Activate != nil) {
			return false
		}
	}
	return true
}

// Checks returns every check the plan means to fix.
func (p *Plan) Checks() []string {
	var out []string
	for _, a := range p.Areas {
		for _, c := range a.Checks {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

func describe(root string, f File) Change {
	h := hostPath(root, f.Path)
	var old []byte
	oldLink, exists := "", false
	if st, err := os.Lstat(h); err == nil {
		exists = true
		if st.Mode()&fs.ModeSymlink != 0 {
			oldLink, _ = os.Readlink(h)
		} else if st.Mode().IsRegular() {
			old, _ = os.ReadFile(h)
		}
	}
	switch {
	case f.Remove:
		c := Change{Path: f.Path, Kind: "remove"}
		if oldLink != "" {
			c.Link = oldLink
		}
		return c
	case f.Link != "":
		return Change{Path: f.Path, Kind: "link", Link: f.Link}
	}
	c := Change{Path: f.Path, Kind: "modify"}
	from := f.Path
	if !exists {
		c.Kind, from = "create", "/dev/null"
	}
	c.Diff = UnifiedDiff(from, f.Path, old, f.Data)
	return c
}

// UnifiedDiff returns the unified diff (3 lines of context) from a to b,
// or "" when they are equal.
func UnifiedDiff(fromName, toName string, a, b []byte) string {
	d := difflib.UnifiedDiff{A: diffLines(a), B: diffLines(b), FromFile: fromName, ToFile: toName, Context: 3}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		return fmt.Sprintf("(diff failed: %v)\n", err)
	}
	return s
}

// diffLines splits b into lines that each end in a newline; a last line
// without one is marked as diff(1) does.
func diffLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	ls := strings.SplitAfter(string(b), "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	} else {
		ls[len(ls)-1] += "\n\\ No newline at end of file\n"
	}
	return ls
}

// WriteText prints the plan: per area the checks it fixes, a unified diff
// per file, links, removals, actions and the reloads.
func (p *Plan) WriteText(w io.Writer) {
	for _, a := range p.Areas {
		switch {
		case a.Skipped != "":
			fmt.Fprintf(w, "== %s: skipped: %s\n\n", a.Area, a.Skipped)
			continue
		case a.Refused != "":
			fmt.Fprintf(w, "== %s: REFUSED: %s\n\n", a.Area, a.Refused)
			continue
		case len(a.Changes) == 0 && len(a.Actions) == 0:
			fmt.Fprintf(w, "== %s: nothing to change\n\n", a.Area)
			continue
		}
		if len(a.Checks) > 0 {
			fmt.Fprintf(w, "== %s: fixes %s\n", a.Area, strings.Join(a.Checks, ", "))
		} else {
			fmt.Fprintf(w, "== %s: no failing check; brings its settings up to date\n", a.Area)
		}
		for _, c := range a.Changes {
			switch c.Kind {
			case "link":
				fmt.Fprintf(w, "link   %s -> %s\n", c.Path, c.Link)
			case "remove":
				if c.Link != "" {
					fmt.Fprintf(w, "remove %s (-> %s)\n", c.Path, c.Link)
				} else {
					fmt.Fprintf(w, "remove %s\n", c.Path)
				}
			default:
				io.WriteString(w, c.Diff)
			}
		}
		for _, s := range a.Actions {
			fmt.Fprintf(w, "action: %s\n", s)
		}
		for _, c := range a.Reload {
			if p.Live {
				fmt.Fprintf(w, "reload: %s\n", c)
			} else {
				fmt.Fprintf(w, "reload: %s (not run: --root)\n", c)
			}
		}
		fmt.Fprintln(w)
	}
}

func (c Command) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// ReloadResult is one reload command run after installing or undoing.
type ReloadResult struct {
	Command Command `json:"command"`
	Output  string  `json:"output,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Result is what Execute did.
type Result struct {
	ChangeSet string         `json:"change_set"`
	Root      string         `json:"root"`
	Areas     []string       `json:"areas"`
	Files     []string       `json:"files"`
	Activated []string       `json:"activated"`
	Reloads   []ReloadResult `json:"reloads"`
}

// ReloadFailed reports whether a reload command failed.
func (r *Result) ReloadFailed() bool {
	for _, x := range r.Reloads {
		if x.Error != "" {
			return true
		}
	}
	return false
}

// Execute carries out p: every file is first written to a staged copy and
// each area's Validate runs on them; then the change set is recorded and the
// files installed atomically; then, on a live host only, each Activate runs
// (an error puts the files back) and the reload commands run. A refused
// area stops everything before the first write.
func Execute(ctx context.Context, env *Env, p *Plan, now time.Time) (*Result, error) {
	if r := p.Refused(); len(r) > 0 {
		return nil, fmt.Errorf("harden: %s refused (%s): nothing applied; name the other areas to apply them alone", r[0].Area, r[0].Refused)
	}
	var files []File
	var areas []string
	var reload, undoReload []Command
	var props []*Proposal
	for _, a := range p.Areas {
		if a.Proposal == nil || (len(a.Proposal.Files) == 0 && a.Proposal.Activate == nil) {
			continue
		}
		props = append(props, a.Proposal)
		areas = append(areas, a.Area)
		files = append(files, a.Proposal.Files...)
		reload = addCommands(reload, a.Proposal.Reload)
		undoReload = addCommands(undoReload, a.Proposal.UndoReload)
	}
	res := &Result{Root: env.Root, Areas: areas, Files: []string{}, Activated: []string{}, Reloads: []ReloadResult{}}
	if len(props) == 0 {
		return res, nil
	}
	staged, cleanup, err := stage(files)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	for _, pr := range props {
		if pr.Validate != nil {
			if err := pr.Validate(ctx, staged); err != nil {
				return nil, fmt.Errorf("harden: %s: validation failed, nothing applied: %w", pr.Area, err)
			}
		}
	}
	if env.StateDir == "" {
		return nil, errors.New("harden: no state directory to record the change set in")
	}
	if err := checkParents(env.Root, files); err != nil {
		return nil, err
	}
	unlock, err := Lock(env.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec := Record{Root: env.Root, Areas: areas, Live: env.Live}
	if env.Live {
		rec.Reload, rec.UndoReload = reload, undoReload
	}
	cs, err := ApplyFiles(env.StateDir, rec, files, now)
	if err != nil {
		return nil, err
	}
	res.ChangeSet = cs.ID
	for _, f := range cs.Files {
		res.Files = append(res.Files, f.Path)
	}
	if !env.Live {
		return res, nil
	}
	for _, pr := range props {
		if pr.Activate == nil {
			continue
		}
		if err := pr.Activate(ctx); err != nil {
			uerr := Undo(env.StateDir, cs, true)
			return res, fmt.Errorf("harden: %s: activation failed, files put back (%v): %w", pr.Area, uerr, err)
		}
		res.Activated = append(res.Activated, pr.Area)
	}
	res.Reloads = RunReloads(ctx, env.Run, reload)
	return res, nil
}

// addCommands appends the commands of more not in list yet.
func addCommands(list, more []Command) []Command {
	for _, c := range more {
		if !slices.ContainsFunc(list, func(x Command) bool { return x.String() == c.String() }) {
			list = append(list, c)
		}
	}
	return list
}

// RunReloads runs each command in turn; a failure is recorded and the
// others still run.
func RunReloads(ctx context.Context, run Runner, cmds []Command) []ReloadResult {
	if run == nil {
		run = ExecRunner
	}
	out := []ReloadResult{}
	for _, c := range cmds {
		b, err := run(ctx, c.Name, c.Args...)
		r := ReloadResult{Command: c, Output: strings.TrimSpace(string(b))}
		if err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out
}

// stage writes each file's new content to a temporary directory and returns
// host path -> staged path.
func stage(files []File) (map[string]string, func(), error) {
	dir, err := os.MkdirTemp("", "rampart-harden-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	staged := map[string]string{}
	for _, f := range files {
		if f.Link != "" || f.Remove {
			continue
		}
		t := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(t), 0o700); err != nil {
			cleanup()
			return nil, nil, err
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(t, f.Data, mode&0o777); err != nil {
			cleanup()
			return nil, nil, err
		}
		staged[f.Path] = t
	}
	return staged, cleanup, nil
}

// checkParents refuses, under a root other than "/", a path whose
// directories include a symbolic link: following it could write outside the
// root (an image's /etc/audit -> /etc).
func checkParents(root string, files []File) error {
	if root == "" || root == "/" {
		return nil
	}
	for _, f := range files {
		d := filepath.Dir(f.Path)
		for d != "/" {
			st, err := os.Lstat(hostPath(root, d))
			if err == nil && st.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("harden: %s under --root %s is a symbolic link; refusing to write %s through it", d, root, f.Path)
			}
			d = filepath.Dir(d)
		}
	}
	return nil
}
