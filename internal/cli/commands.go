package cli

import "github.com/spf13/cobra"

// commands lists every subcommand constructor: one literal, easy to grep.
var commands = []func(*globals) *cobra.Command{
	newVersionCmd,
	newAuditCmd,
	newFilterCmd,
	newRunCmd,
	newConfigCmd,
	newStatusCmd,
	newBanCmd,
	newUnbanCmd,
	newBannedCmd,
	newReloadCmd,
	newPingCmd,
	newEventsCmd,
	newWhyCmd,
	newFimCmd,
	newHostCmd,
	newWebCmd,
	newFleetCmd,
	newFirewallCmd,
	newHardenCmd,
	newGenDocsCmd,
}
