// Command rampart is a host intrusion-prevention agent: a Fail2ban-compatible
// log watcher that bans through nftables, plus a defense-in-depth audit.
package main

import (
	"os"

	"github.com/rampart-ids/rampart/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
