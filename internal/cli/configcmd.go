package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"greenroom/internal/config"
)

// defaultConfigFiles are read when no --config is given, as Backstage
// reads app-config.yaml and app-config.local.yaml from its root.
var defaultConfigFiles = []string{"app-config.yaml", "app-config.local.yaml"}

func configFiles(g *globalFlags) []string {
	if len(g.configFiles) > 0 {
		return g.configFiles
	}
	var files []string
	for _, f := range defaultConfigFiles {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	return files
}

// loadConfig loads and validates the configuration. Errors and warnings
// are printed one per line (and, when verbose, the info notes too); errors
// end the command with exit code 2 before anything else is touched.
func loadConfig(g *globalFlags, stderr io.Writer, verbose bool) (*config.Config, config.Report, error) {
	cfg, report, err := config.Load(config.LoadOptions{Files: configFiles(g), Environ: os.Environ()})
	for _, p := range report.Problems {
		if p.Severity != config.SeverityInfo || verbose {
			fmt.Fprintln(stderr, p.String())
		}
	}
	if err != nil {
		var pe *config.ProblemsError
		if !errors.As(err, &pe) {
			fmt.Fprintln(stderr, "greenroom: config:", err)
		}
		return nil, report, errSilent{code: 2}
	}
	return cfg, report, nil
}

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or print the configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration files and print every problem",
		Long: `Validate the configuration: each problem is printed with its file, line,
key path and what was expected. Exits 0 when there is none, 1 when there are
only warnings (such as unknown keys), 2 on errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, report, err := loadConfig(g, cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			if n := len(report.Filter(config.SeverityWarning)); n > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d warnings\n", n)
				return errSilent{code: 1}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "configuration OK (%d files)\n", len(cfg.Files()))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "dump",
		Short: "Print the merged configuration with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			return cfg.Dump(cmd.OutOrStdout())
		},
	})
	return cmd
}
