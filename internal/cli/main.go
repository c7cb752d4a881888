package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitf returns an error that makes Main exit with code after printing it.
func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// errSilent exits non-zero without printing anything more: the command has
// already told the user what went wrong.
type errSilent struct{ code int }

func (e errSilent) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the greenroom command line with args (without the program
// name) and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	startGC(root, args) // docsgc.go
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var silent errSilent
	if errors.As(err, &silent) {
		return silent.code
	}
	fmt.Fprintln(stderr, "greenroom:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// globalFlags are shared by every subcommand.
type globalFlags struct {
	configFiles []string
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "greenroom",
		Short: "Greenroom: an internal developer portal in one binary",
		Long: `Greenroom is an internal developer portal: a software catalog compatible with
Backstage's catalog-info.yaml files, app-config.yaml and catalog API, in one
binary with an embedded store.

Start it with no configuration at all and open http://localhost:7007:

  greenroom serve

It then keeps its data in ./.greenroom (SQLite) and loads a demo company.
Point it at your own app-config.yaml files with --config (repeatable; later
files win, as in Backstage).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringArrayVarP(&g.configFiles, "config", "c", nil,
		"app-config.yaml file to load (repeatable, later files win); default: app-config.yaml and app-config.local.yaml in the working directory when present")
	root.AddCommand(newServeCmd(g), newVersionCmd(), newConfigCmd(g), newBenchCmd(), newCatalogCmd(g))
	root.AddCommand(newLoginCmd(g), newLogoutCmd(g))   // sign-in
	root.AddCommand(newCreateCmd(g), newTemplateCmd()) // scaffolder
	root.AddCommand(newDocsCmd(g))                     // techdocs
	root.AddCommand(newFeishuCmd(g))                   // feishu
	root.AddCommand(newSearchCmd(g))                   // search
	return root
}
