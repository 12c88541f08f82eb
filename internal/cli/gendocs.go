package cli

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCmd is the hidden "gendocs" command the packaging program
// (cmd/mkdist) runs to write the man pages from this command tree, so they
// never drift from --help. It is hidden: admins read the pages, they do not
// make them.
func newGenDocsCmd(g *globals) *cobra.Command {
	var manDir, version string
	var epoch int64
	c := &cobra.Command{
		Use:    "gendocs --man DIR",
		Short:  "Write rampart(8) and one man page per subcommand into DIR",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if manDir == "" {
				return usageErr(fmt.Errorf("gendocs: --man DIR is required"))
			}
			if err := os.MkdirAll(manDir, 0o755); err != nil {
				return usageErr(fmt.Errorf("gendocs: %w", err))
			}
			date := time.Unix(epoch, 0).UTC()
			root := cmd.Root()
			root.DisableAutoGenTag = true // a date in the body would defeat reproducible builds
			header := &doc.GenManHeader{
				Title:   "RAMPART",
				Section: "8",
				Date:    &date,
				Source:  "rampart " + version,
				Manual:  "rampart manual",
			}
			if err := doc.GenManTree(root, header, manDir); err != nil {
				return failErr(fmt.Errorf("gendocs: %w", err))
			}
			fmt.Fprintf(g.stdout, "man pages written to %s\n", manDir)
			return nil
		},
	}
	def := int64(0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			def = v
		}
	}
	c.Flags().StringVar(&manDir, "man", "", "directory to write the man pages into")
	c.Flags().Int64Var(&epoch, "date", def, "date of the pages, Unix seconds (default $SOURCE_DATE_EPOCH)")
	c.Flags().StringVar(&version, "version", version, "version named in the pages' footer")
	return c
}
