package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"greenroom/internal/techdocs"
)

func newDocsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Build, preview and publish MkDocs documentation (TechDocs) without Python",
	}
	cmd.AddCommand(newDocsBuildCmd(), newDocsServeCmd(), newDocsPublishCmd(g))
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitf(2, "%v", err) })
	}
	return cmd
}

func newDocsBuildCmd() *cobra.Command {
	var out, configFile, format string
	var strict bool
	cmd := &cobra.Command{
		Use:   "build DIR --out SITE",
		Short: "Build the MkDocs project in DIR into a static site, as mkdocs build and techdocs-cli generate do",
		Long: `Build the MkDocs project in DIR (mkdocs.yml and its docs directory) into SITE:
an HTML page per Markdown file with MkDocs' URLs, navigation and heading
anchors, the docs' assets, search/search_index.json and techdocs_metadata.json,
so the result can be published to TechDocs storage as techdocs-cli's is.

Each warning (a broken link or anchor, an unknown plugin, a file skipped) is
printed as file:line: message. Exit code 0 on success, 1 when the project
cannot be built (or has warnings with --strict), 2 on a usage error.`,
		Args:        usageArgs(cobra.ExactArgs(1)),
		Annotations: map[string]string{lightGCAnnotation: "yes"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return exitf(2, "--out SITE is required")
			}
			if format != "text" && format != "json" {
				return exitf(2, "--format %q: want text or json", format)
			}
			stopGC := lightGC(cmd.Context())
			res, err := techdocs.Build(cmd.Context(), args[0], out, techdocs.Options{ConfigFile: configFile, Env: os.LookupEnv, Overwrite: false})
			stopGC()
			if err != nil {
				return exitf(1, "%s", strings.TrimPrefix(err.Error(), techdocs.ErrInvalid.Error()+": "))
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"site_name": res.SiteName, "pages": len(res.Pages), "warnings": res.Warnings,
					"duration_ms": res.Duration.Milliseconds()}); err != nil {
					return err
				}
			} else {
				printWarnings(cmd.ErrOrStderr(), res.Warnings)
				fmt.Fprintf(w, "Built %d pages of %q into %s in %s (%d warnings)\n", len(res.Pages), res.SiteName, out, res.Duration.Round(1e6), len(res.Warnings))
			}
			if strict && len(res.Warnings) > 0 {
				return errSilent{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory to write the site to (created; a previous build there is replaced)")
	cmd.Flags().StringVarP(&configFile, "config-file", "f", "", "the MkDocs configuration file in DIR (default mkdocs.yml)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when there are warnings, like mkdocs build --strict")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func printWarnings(w io.Writer, ws []techdocs.Warning) {
	for _, x := range ws {
		fmt.Fprintln(w, "WARNING", x.String())
	}
}

func newDocsPublishCmd(g *globalFlags) *cobra.Command {
	var entity, dir string
	cmd := &cobra.Command{
		Use:   "publish --entity NAMESPACE/KIND/NAME --directory SITE",
		Short: "Upload a built site to the configured TechDocs storage (techdocs.publisher), as techdocs-cli publish does",
		Long: `Upload SITE (from greenroom docs build or techdocs-cli generate) for the entity
to the storage of techdocs.publisher in app-config.yaml (local directory or
awsS3), under Backstage's layout namespace/kind/name/, replacing the previous
site once the new one is complete. A server with techdocs.builder: external
serves it from there.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			parts := strings.Split(entity, "/")
			if len(parts) != 3 {
				return exitf(2, "--entity %q: want NAMESPACE/KIND/NAME, e.g. default/component/payments", entity)
			}
			n := techdocs.EntityName{Namespace: parts[0], Kind: parts[1], Name: parts[2]}
			if !n.Valid() {
				return exitf(2, "--entity %q: bad name", entity)
			}
			if _, err := os.Stat(filepath.Join(dir, techdocs.MetadataFile)); err != nil {
				return exitf(1, "%s has no %s: build it first with greenroom docs build", dir, techdocs.MetadataFile)
			}
			cfg, _, err := loadConfig(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			pub, err := newTechDocsPublisher(cmd.Context(), cfg.TechDocs, cfg.Greenroom.DataDir)
			if err != nil {
				return exitf(1, "%v", err)
			}
			if err := pub.Publish(cmd.Context(), n, dir); err != nil {
				return exitf(1, "%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Published %s to %s storage as %s/\n", dir, cfg.TechDocs.PublisherType(), n.Path())
			return nil
		},
	}
	cmd.Flags().StringVar(&entity, "entity", "", "the entity the docs belong to: NAMESPACE/KIND/NAME")
	cmd.Flags().StringVar(&dir, "directory", "./site", "the built site")
	return cmd
}
