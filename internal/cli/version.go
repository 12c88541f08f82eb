package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X ...cli.version=v1.2.3".
var version = "dev"

func newVersionCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print rampart's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			if asJSON {
				return printJSON(g.stdout, struct {
					Version string `json:"version"`
					Go      string `json:"go"`
				}{v, runtime.Version()})
			}
			fmt.Fprintf(g.stdout, "rampart %s\n", v)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the version and Go version as JSON")
	return c
}
