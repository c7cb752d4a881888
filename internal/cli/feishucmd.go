package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"greenroom/internal/config"
	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
	feishuapi "greenroom/internal/integration/feishu"
)

// feishuFlags are the connection flags of the feishu commands; unset ones
// come from the feishu section of the configuration.
type feishuFlags struct {
	baseURL, appID, appSecret string
}

func (f *feishuFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.baseURL, "base-url", "", "Feishu Open API base URL (default: feishu.baseUrl, else https://open.feishu.cn)")
	cmd.Flags().StringVar(&f.appID, "app-id", "", "Feishu app id (default: feishu.appId)")
	cmd.Flags().StringVar(&f.appSecret, "app-secret", "", "Feishu app secret (default: feishu.appSecret; prefer the config or $FEISHU_APP_SECRET over the command line)")
}

// client builds the Open API client from the flags over cfg.
func (f *feishuFlags) client(cfg *config.Config, logger *slog.Logger) (*feishuapi.Client, error) {
	fc := cfg.Feishu.Effective()
	opts := feishuapi.Options{BaseURL: fc.BaseURL, AppID: fc.AppID, AppSecret: fc.AppSecret}
	if f.baseURL != "" {
		opts.BaseURL = f.baseURL
	}
	if f.appID != "" {
		opts.AppID = f.appID
	}
	if f.appSecret != "" {
		opts.AppSecret = config.Secret(f.appSecret)
	} else if s := os.Getenv("FEISHU_APP_SECRET"); s != "" && opts.AppSecret == "" {
		opts.AppSecret = config.Secret(s)
	}
	c, err := feishuapi.New(opts, feishuapi.Deps{Logger: logger})
	if err != nil {
		return nil, exitf(2, "%v", greenroom.ErrorMessage(err))
	}
	return c, nil
}

func conversionFromConfig(fc config.Feishu) feishu.ConversionConfig {
	fc = fc.Effective()
	return feishu.ConversionConfig{HandleImages: fc.Conversion.HandleImages, ConvertTables: fc.Conversion.ConvertTables,
		PreserveComments: fc.Conversion.PreserveComments, PreserveFormatting: fc.Conversion.PreserveFormatting}
}

func rulesFromConfig(fc config.Feishu) []feishu.PermissionRule {
	var out []feishu.PermissionRule
	for _, r := range fc.PermissionMapping {
		out = append(out, feishu.PermissionRule{FeishuMember: r.FeishuMember, FeishuRole: r.FeishuRole, Owner: r.Owner})
	}
	return out
}

func newFeishuCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feishu",
		Short: "Move Feishu (Lark) documents into docs-as-code",
		Long: `Convert Feishu docx documents to Markdown and migrate Drive folders into a
service's docs/ with mkdocs.yml nav entries. Migrations are recorded in the
store with their report, so they can be validated and rolled back; the
portal's /feishu page and /api/feishu show the same migrations.`,
	}
	cmd.AddCommand(newFeishuConvertCmd(g), newFeishuMigrateCmd(g), newFeishuListCmd(g),
		newFeishuReportCmd(g), newFeishuValidateCmd(g), newFeishuRollbackCmd(g))
	return cmd
}

func newFeishuConvertCmd(g *globalFlags) *cobra.Command {
	var ff feishuFlags
	var images, out string
	cmd := &cobra.Command{
		Use:   "convert DOCUMENT_ID",
		Short: "Convert one docx document to Markdown",
		Long: `Fetch every block of a docx document and write its Markdown to standard
output, or to --out FILE. With --images link (the default) nothing is
downloaded and no user names are looked up: images are written as their
media tokens and mentions as open_ids, so the command works against any Open
API base URL. --images download saves images into assets/ beside --out (or
the working directory); embed inlines them as data: URIs.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			conv := conversionFromConfig(cfg.Feishu)
			if images != "" {
				conv.HandleImages = images
			}
			if err := conv.Validate(); err != nil {
				return exitf(2, "--images: %v", err)
			}
			c, err := ff.client(cfg, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			dir := "."
			if out != "" {
				dir = filepath.Dir(out)
			}
			var assets feishu.Assets
			if conv.HandleImages != feishu.ImagesLink {
				assets = &cliAssets{src: c, dir: dir}
			}
			svc := feishu.NewService(c, nil, nil)
			res, err := svc.Convert(cmd.Context(), args[0], conv, assets)
			if err != nil {
				return exitf(1, "%s: %s", args[0], greenroom.ErrorMessage(err))
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w.String())
			}
			if out == "" {
				_, err := io.WriteString(cmd.OutOrStdout(), res.Markdown)
				return err
			}
			return os.WriteFile(out, []byte(res.Markdown), 0o644)
		},
	}
	ff.register(cmd)
	cmd.Flags().StringVar(&images, "images", "", "image handling: link, download or embed (default: feishu.conversion.handleImages, else link)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the Markdown to FILE instead of standard output")
	return cmd
}

// cliAssets saves images for convert.
type cliAssets struct {
	src feishu.Source
	dir string
}

func (a *cliAssets) Image(ctx context.Context, token, mode string) (string, error) {
	m, err := a.src.Media(ctx, token)
	if err != nil {
		return "", err
	}
	ct, _, _ := mime.ParseMediaType(m.ContentType)
	if mode == feishu.ImagesEmbed {
		return "data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(m.Data), nil
	}
	exts, _ := mime.ExtensionsByType(ct)
	ext := ".bin"
	if len(exts) > 0 {
		ext = exts[0]
	}
	if err := os.MkdirAll(filepath.Join(a.dir, "assets"), 0o755); err != nil {
		return "", err
	}
	name := "assets/" + token + ext
	if err := os.WriteFile(filepath.Join(a.dir, filepath.FromSlash(name)), m.Data, 0o644); err != nil {
		return "", err
	}
	return name, nil
}

func (a *cliAssets) UserName(ctx context.Context, id string) (string, error) {
	return a.src.UserName(ctx, id)
}

// feishuService opens the local store and builds the migration service.
func feishuService(ctx context.Context, g *globalFlags, ff *feishuFlags, dataDir string, stderr io.Writer, needClient bool) (*feishu.Service, func(), error) {
	cfg, _, err := loadConfig(g, stderr, false)
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if dataDir == "" {
		dataDir = cfg.Greenroom.DataDir
	}
	var src feishu.Source
	if needClient {
		c, err := ff.client(cfg, logger)
		if err != nil {
			return nil, nil, err
		}
		src = c
	}
	st, err := openStore(ctx, cfg, dataDir, logger)
	if err != nil {
		return nil, nil, exitf(1, "%v (while a server runs on this data dir, use the portal's /feishu page or POST /api/feishu/migrations)", err)
	}
	svc := feishu.NewService(src, st, logger)
	svc.SetBuilder(techdocsValidator{})
	svc.SetPermissionMapping(rulesFromConfig(cfg.Feishu))
	svc.SetConversionDefaults(conversionFromConfig(cfg.Feishu))
	svc.SetPublisher(feishuPublisher(cfg))
	return svc, func() { _ = st.Close() }, nil
}

func newFeishuMigrateCmd(g *globalFlags) *cobra.Command {
	var ff feishuFlags
	var req feishu.Request
	var dataDir, images, branch, output, prRepo, prBase string
	var flat, pr bool
	cmd := &cobra.Command{
		Use:   "migrate (--folder TOKEN | --workspace | --doc ID...) --service REF --target DIR",
		Short: "Migrate Feishu documents into a service's docs",
		Long: `Scan a Drive folder (or the app's whole Drive with --workspace, or the
documents named by --doc), convert every docx document, and write the pages
into DIR's docs_dir under --docs-path, adding a nav section to mkdocs.yml
(created when missing). Documents the app may not read are reported and
skipped. Documents are written in batches of --batch-size, each all or
nothing. With --branch the result is committed on a new branch of the git
repository DIR; --pull-request also pushes it to origin and opens a pull
request with the token of the matching integrations.github entry. The migration and its report are kept in the store
(--data-dir); see feishu report, validate and rollback.

Exit code 0 when every document was migrated or skipped, 1 otherwise.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := feishuService(cmd.Context(), g, &ff, dataDir, cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			defer done()
			req.PreserveHierarchy = !flat
			if images != "" {
				req.Conversion = conversionDefaultsWith(svc, images)
			}
			if branch != "" {
				req.Git = &feishu.GitOutput{Branch: branch, PullRequest: pr, Repo: prRepo, Base: prBase}
			} else if pr {
				return exitf(2, "--pull-request needs --branch")
			}
			if abs, err := filepath.Abs(req.TargetDir); err == nil && req.TargetDir != "" {
				req.TargetDir = abs
			}
			req.RequestedBy = "cli"
			m, err := svc.Start(cmd.Context(), req)
			if err != nil {
				if greenroom.ErrorCode(err) == greenroom.CodeInvalid {
					return exitf(2, "%s", greenroom.ErrorMessage(err))
				}
				return err
			}
			if err := printMigration(cmd.OutOrStdout(), output, m); err != nil {
				return err
			}
			if m.Status != feishu.StatusSucceeded {
				return errSilent{code: 1}
			}
			return nil
		},
	}
	ff.register(cmd)
	f := cmd.Flags()
	f.StringVar(&req.FolderToken, "folder", "", "Drive folder token to scan (recursively)")
	f.BoolVar(&req.Workspace, "workspace", false, "scan the app's whole Drive from its root folder")
	f.StringSliceVar(&req.DocumentIDs, "doc", nil, "docx document id to migrate (repeatable) instead of scanning")
	f.StringVar(&req.TargetService, "service", "", "entity ref of the service that receives the docs, e.g. component:default/payments")
	f.StringVar(&req.TargetDir, "target", "", "the service repository's directory (where mkdocs.yml is)")
	f.StringVar(&req.DocsPath, "docs-path", "", "folder under docs_dir for the pages (default feishu)")
	f.StringVar(&req.NavSection, "nav-section", "", "title of the nav section added (default Feishu)")
	f.StringVar(&images, "images", "", "image handling: download, link or embed (default: feishu.conversion.handleImages)")
	f.BoolVar(&flat, "flat", false, "put every page in --docs-path instead of one folder per Drive folder")
	f.BoolVar(&req.DryRun, "dry-run", false, "convert and report, write nothing")
	f.IntVar(&req.BatchSize, "batch-size", 0, "documents written together or not at all (default 20)")
	f.StringVar(&branch, "branch", "", "commit the result on this new branch of the git repository --target")
	f.BoolVar(&pr, "pull-request", false, "push --branch to origin and open a pull request (token from integrations.github)")
	f.StringVar(&prRepo, "repo", "", "GitHub repository owner/name of the pull request (default: from origin's URL)")
	f.StringVar(&prBase, "base", "", "branch the pull request merges into (default main)")
	f.StringVar(&dataDir, "data-dir", "", "data dir of the store that records the migration (default greenroom.dataDir)")
	f.StringVarP(&output, "output", "o", "text", "report format: text or json")
	return cmd
}

func conversionDefaultsWith(svc *feishu.Service, images string) feishu.ConversionConfig {
	c := svc.ConversionDefaults()
	c.HandleImages = images
	return c
}

func printMigration(w io.Writer, format string, m feishu.Migration) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	r := m.Report
	fmt.Fprintf(w, "migration %s: %s\n", m.ID, m.Status)
	if m.Error != "" {
		fmt.Fprintf(w, "error: %s\n", m.Error)
	}
	fmt.Fprintf(w, "%d migrated, %d failed, %d skipped\n", r.SuccessCount, r.FailureCount, r.SkippedCount)
	for _, d := range r.Documents {
		line := fmt.Sprintf("  %-8s %s %q", d.Status, d.ID, d.Title)
		if d.Path != "" && d.Status != feishu.DocSkipped {
			line += " -> " + d.Path
		}
		if d.Owner != "" {
			line += " (owner " + d.Owner + ")"
		}
		if d.Reason != "" {
			line += ": " + d.Reason
		}
		fmt.Fprintln(w, line)
		for _, wn := range d.Warnings {
			fmt.Fprintln(w, "           warning: "+wn)
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintln(w, "warning: "+wn)
	}
	if len(r.GeneratedFiles) > 0 {
		fmt.Fprintf(w, "files: %s\n", strings.Join(r.GeneratedFiles, ", "))
	}
	if r.Commit != "" {
		fmt.Fprintf(w, "commit: %s on %s\n", r.Commit, m.Request.Git.Branch)
	}
	if r.PullRequest != "" {
		fmt.Fprintf(w, "pull request: %s\n", r.PullRequest)
	}
	if v := r.Validation; v != nil {
		fmt.Fprintf(w, "validation: ok=%v, %d pages, %d problems\n", v.OK, v.Pages, len(v.Problems))
	}
	if rb := r.Rollback; rb != nil {
		fmt.Fprintf(w, "rolled back: %d removed, %d kept (changed since)\n", len(rb.Removed), len(rb.Kept))
	}
	return nil
}

func newFeishuListCmd(g *globalFlags) *cobra.Command {
	var dataDir, output string
	cmd := &cobra.Command{
		Use:   "migrations",
		Short: "List Feishu migrations, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := feishuService(cmd.Context(), g, nil, dataDir, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			defer done()
			ms, err := svc.Migrations(cmd.Context(), 100)
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(ms)
			}
			for _, m := range ms {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %-11s  %s  %s  %d migrated, %d failed, %d skipped\n", m.ID, m.Status,
					m.CreatedAt.Format("2006-01-02 15:04"), m.Request.TargetService, m.Report.SuccessCount, m.Report.FailureCount, m.Report.SkippedCount)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data dir of the store (default greenroom.dataDir)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	return cmd
}

// newFeishuIDCmd builds report, validate and rollback: one migration id.
func newFeishuIDCmd(g *globalFlags, use, short string, run func(ctx context.Context, svc *feishu.Service, id string) (feishu.Migration, error)) *cobra.Command {
	var dataDir, output string
	cmd := &cobra.Command{
		Use:   use + " MIGRATION_ID",
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := feishuService(cmd.Context(), g, nil, dataDir, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			defer done()
			m, err := run(cmd.Context(), svc, args[0])
			if err != nil {
				return exitf(1, "%s", greenroom.ErrorMessage(err))
			}
			if err := printMigration(cmd.OutOrStdout(), output, m); err != nil {
				return err
			}
			if v := m.Report.Validation; use == "validate" && v != nil {
				for _, p := range v.Problems {
					fmt.Fprintln(cmd.OutOrStdout(), "  "+p.String())
				}
				if !v.OK {
					return errSilent{code: 1}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data dir of the store (default greenroom.dataDir)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text or json")
	return cmd
}

func newFeishuReportCmd(g *globalFlags) *cobra.Command {
	return newFeishuIDCmd(g, "report", "Show a migration's report", func(ctx context.Context, svc *feishu.Service, id string) (feishu.Migration, error) {
		return svc.Migration(ctx, id)
	})
}

func newFeishuValidateCmd(g *globalFlags) *cobra.Command {
	return newFeishuIDCmd(g, "validate", "Rebuild the target's docs and check every migrated page and link",
		func(ctx context.Context, svc *feishu.Service, id string) (feishu.Migration, error) {
			if _, err := svc.Validate(ctx, id); err != nil {
				return feishu.Migration{}, err
			}
			return svc.Migration(ctx, id)
		})
}

func newFeishuRollbackCmd(g *globalFlags) *cobra.Command {
	return newFeishuIDCmd(g, "rollback", "Remove exactly what a migration added", func(ctx context.Context, svc *feishu.Service, id string) (feishu.Migration, error) {
		return svc.Rollback(ctx, id)
	})
}
