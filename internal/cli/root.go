// Package cli holds rampart's subcommands. Each file is one command and stays
// thin: parse flags, call a package, print.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/rampart/rampart.sock"

// Exit codes shared by all commands.
const (
	ExitOK    = 0
	ExitFail  = 1 // the command ran and found a problem (audit finding, daemon refused)
	ExitUsage = 2 // bad usage, or input that could not be loaded
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or load problem (exit status 2).
func usageErr(err error) error { return &exitError{code: ExitUsage, err: err} }

// failErr marks err as a finding (exit status 1).
func failErr(err error) error { return &exitError{code: ExitFail, err: err} }

// silentExit ends the command with code and no further message.
type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// globals are the flags every command sees.
type globals struct {
	socket string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Main runs the CLI with args and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var s silentExit
	if errors.As(err, &s) {
		return int(s)
	}
	fmt.Fprintf(stderr, "rampart: %v\n", err)
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	// Errors cobra raises itself (unknown flag, wrong argument count) are usage errors.
	return ExitUsage
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "rampart",
		Short: "Host intrusion prevention: Fail2ban-compatible log bans over nftables, and a hardening audit",
		Long: `rampart watches service logs, recognises brute force and attacks with
Fail2ban-compatible filters, and bans the source addresses in the kernel
firewall (nftables sets over netlink). "rampart run" is the daemon; the other
commands are offline tools or clients of its control socket.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("RAMPART_SOCKET")
	if def == "" {
		def = DefaultSocket
	}
	root.PersistentFlags().StringVar(&g.socket, "socket", def, "control socket of the daemon (env RAMPART_SOCKET)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	for _, add := range commands {
		root.AddCommand(add(g))
	}
	return root
}
