package cli

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"text/tabwriter"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/builtin"
	"github.com/spf13/cobra"
)

func newFilterListCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the built-in filters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			type entry struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			}
			var list []entry
			for _, n := range builtin.Names() {
				data, err := fs.ReadFile(builtin.FS(), n+".toml")
				if err != nil {
					return err
				}
				list = append(list, entry{n, filter.Describe(data)})
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(list)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			for _, e := range list {
				fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Description)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}
