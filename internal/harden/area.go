package harden

import (
	"context"
	"io/fs"
)

// Runner runs a command (sshd -t, augenrules, systemctl) and returns its
// combined output. Tests over fixture roots pass one that records calls.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Options are the command-line choices an area may read.
type Options struct {
	AllowUsers   []string // ssh: AllowUsers in the drop-in, empty = none
	AllowGroups  []string // ssh: AllowGroups in the drop-in
	Port         int      // ssh: move sshd to this port (0 = keep)
	Confirm      string   // ssh/firewall: commit-confirmed window for firewall changes, e.g. "60s"
	RebootWindow string   // updates: Unattended-Upgrade::Automatic-Reboot-Time, empty = no reboot
	Force        bool     // override a guard, loudly
}

// Env is what an area reads and where it acts.
type Env struct {
	Root string // "/" for the live host, else a fixture or image root
	// Live: act on running services (validate with their binaries, reload).
	// The command sets it when Root is "/"; a system test may set it with a
	// throwaway root whose services it started itself (sshd -f ROOT/...).
	Live     bool
	StateDir string // rampart's state directory (change sets live under it)
	Config   string // rampart.toml in use (firewall area)
	Options  Options
	Run      Runner
}

// File is one whole file an area wants written. Path is as seen on the host
// (absolute); it is joined to Env.Root when writing.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Command is a command run after the files are installed (and again after
// undo), recorded in the change set so a later `harden undo` can repeat it.
type Command struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
}

// Proposal is what an area would change. It changes nothing by itself.
type Proposal struct {
	Area    string
	Files   []File    // whole new contents; unchanged files are left out
	Actions []string  // readable lines for what is not a file diff ("reload sshd")
	Reload  []Command // run only when Env.Live after installing, and after undo
	Checks  []string  // audit check IDs this proposal is meant to fix
	// Validate, when set, is called with the staged copies (host path ->
	// path of a temporary file holding the new content) before anything is
	// installed; an error aborts the whole run (e.g. sshd -t -f).
	Validate func(ctx context.Context, staged map[string]string) error
	// Activate, when set and Env.Live, runs after the files are installed
	// and before Reload (e.g. open a new ssh port with a commit-confirmed
	// firewall apply). An error rolls the files back.
	Activate func(ctx context.Context) error
}

// Area is one hardening area (ssh, updates, auditd, journald, users,
// firewall). Plan reads the host under env.Root and returns what it would
// change; a guard that refuses returns an error that names the reason and the
// fix (how to add a key, which flag overrides).
type Area interface {
	Name() string
	Plan(ctx context.Context, env *Env) (*Proposal, error)
}
