package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"greenroom/internal/api"
	"greenroom/internal/catalog"
	catentity "greenroom/internal/catalog/entity"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// Bounds of the catalog commands' reads from a server.
const (
	catalogPageSize     = 500 // entities per by-query request (--page-size)
	maxCatalogPageSize  = 1000
	maxEntityBytes      = 16 << 20 // one entity (get)
	maxPageBytes        = 64 << 20 // one page of a list
	catalogHTTPTimeout  = 30 * time.Second
	defaultCatalogLimit = 0 // 0: every match
)

func newCatalogCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Validate catalog files, and read entities from a server or the local data dir",
	}
	cmd.AddCommand(newCatalogValidateCmd(g), newCatalogGetCmd(g), newCatalogListCmd(g), newCatalogProvidersCmd(g))
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitf(2, "%v", err) })
	}
	return cmd
}

// usageArgs makes cobra's argument checks usage errors (exit code 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return exitf(2, "%v; see %s --help", err, cmd.CommandPath())
		}
		return nil
	}
}

func newCatalogValidateCmd(g *globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check catalog-info.yaml files with Backstage's rules",
		Long: `Check catalog files exactly as the catalog reads a file location: every
document, the files their Location entities name, and the $text, $json and
$yaml placeholders, then Backstage's validation (names, labels, annotations,
tags, links, the kind's schema, relation references) with the custom kinds of
greenroom.catalog.customKinds. Each problem is printed as

  file:line:col: ref: path: rule

Exit code 0 when every entity is valid, 1 when there is a problem, 2 on a
usage error.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return exitf(2, "--format %q: want text or json", format)
			}
			cfg, _, err := loadConfig(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			report, err := catalog.ValidateFiles(args, cfg.Greenroom.Catalog.EntityKinds()...)
			if err != nil {
				return exitf(2, "%v", err)
			}
			if err := printValidation(cmd.OutOrStdout(), cmd.ErrOrStderr(), format, report); err != nil {
				return err
			}
			if len(report.Problems) > 0 {
				return errSilent{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func printValidation(stdout, stderr io.Writer, format string, r catalog.ValidateReport) error {
	if format == "json" {
		out := struct {
			catalog.ValidateReport
			Errors int `json:"errors"`
		}{r, len(r.Problems)}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(stdout, p.String())
	}
	for _, p := range r.Skipped {
		fmt.Fprintln(stderr, "note: "+p.String())
	}
	fmt.Fprintf(stdout, "%s, %s, %s\n", plural(len(r.Files), "file"), plural(r.Entities, "entity"), plural(len(r.Problems), "error"))
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return strconv.Itoa(n) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// readFlags choose where get and list read from.
type readFlags struct {
	server  string
	dataDir string
	output  string
}

func (f *readFlags) register(cmd *cobra.Command, outputs string) {
	cmd.Flags().StringVar(&f.server, "server", "", "Greenroom (or Backstage) base URL to query (default: backend.baseUrl, else http://localhost:7007)")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "read the store in this data dir directly instead of a server (default: used when no server answers)")
	cmd.Flags().StringVarP(&f.output, "output", "o", strings.SplitN(outputs, "|", 2)[0], "output format: "+outputs)
}

func newCatalogGetCmd(g *globalFlags) *cobra.Command {
	f := &readFlags{}
	var kind, namespace string
	cmd := &cobra.Command{
		Use:   "get REF",
		Short: "Print one entity",
		Long: `Print one entity, by a reference in Backstage's [kind:][namespace/]name form;
--kind and --namespace supply missing parts (the namespace defaults to
"default"). It reads from a server through the catalog API, or from the local
data dir (--data-dir, or when no server answers).`,
		Example: `  greenroom catalog get component:default/checkout
  greenroom catalog get checkout --kind component -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != "yaml" && f.output != "json" {
				return exitf(2, "--output %q: want yaml or json", f.output)
			}
			ref, err := catentity.ParseRefInContext(args[0], kind, namespace)
			if err != nil {
				return exitf(2, "%s; give the kind in the reference (component:checkout) or with --kind", greenroom.ErrorMessage(err))
			}
			c, err := openCatalogReader(cmd.Context(), g, f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer c.Close()
			body, err := c.entity(cmd.Context(), ref)
			if err != nil {
				return err
			}
			return writeEntity(cmd.OutOrStdout(), f.output, body, false)
		},
	}
	f.register(cmd, "yaml|json")
	cmd.Flags().StringVar(&kind, "kind", "", "kind to assume when REF has none")
	cmd.Flags().StringVar(&namespace, "namespace", "", "namespace to assume when REF has none (default \"default\")")
	return cmd
}

func newCatalogListCmd(g *globalFlags) *cobra.Command {
	f := &readFlags{}
	var filters, fields []string
	var limit, pageSize int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List entities",
		Long: `List entities matching Backstage filters: each --filter is one filter set of
comma-separated conditions (key or key=value, case-insensitive), all of which
must hold; an entity matching any set is listed. The table shows KIND,
NAMESPACE, NAME, OWNER, TYPE and LIFECYCLE; json and yaml print whole entities,
or the --fields given.`,
		Example: `  greenroom catalog list --filter kind=component,spec.type=service
  greenroom catalog list --filter kind=api --filter kind=component --limit 20 -o json --fields metadata.name,spec.owner`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case f.output != "table" && f.output != "json" && f.output != "yaml":
				return exitf(2, "--output %q: want table, json or yaml", f.output)
			case f.output == "table" && len(fields) > 0:
				return exitf(2, "--fields needs --output json or yaml: the table has fixed columns")
			case limit < 0:
				return exitf(2, "--limit %d: want 0 (everything) or more", limit)
			case pageSize < 1 || pageSize > maxCatalogPageSize:
				return exitf(2, "--page-size %d: want 1 to %d", pageSize, maxCatalogPageSize)
			}
			c, err := openCatalogReader(cmd.Context(), g, f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer c.Close()
			q := listQuery{filters: filters, fields: fields, limit: limit, pageSize: pageSize}
			if f.output == "table" {
				q.fields = tableFields
			}
			return listEntities(cmd.Context(), c, q, f.output, cmd.OutOrStdout())
		},
	}
	f.register(cmd, "table|json|yaml")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "filter set, e.g. kind=component,spec.type=service (repeatable: any set matches)")
	cmd.Flags().StringSliceVar(&fields, "fields", nil, "entity fields to print with -o json or yaml, e.g. metadata.name,spec.owner")
	cmd.Flags().IntVar(&limit, "limit", defaultCatalogLimit, "print at most this many entities (0: all)")
	cmd.Flags().IntVar(&pageSize, "page-size", catalogPageSize, "entities per request to the catalog API")
	_ = cmd.Flags().MarkHidden("page-size") // a tuning knob, and how the tests walk several pages
	return cmd
}

// catalogReader reads the catalog API: from a server, or from an
// in-process API over the local store.
type catalogReader struct {
	base   string // e.g. http://localhost:7007
	client *http.Client
	token  string // sent as a Bearer token: GREENROOM_TOKEN or greenroom login's
	close  func() error
}

func (c *catalogReader) Close() error {
	if c.close != nil {
		return c.close()
	}
	return nil
}

// openCatalogReader picks the source: --server, --data-dir, or the
// configured server, falling back to the local store when that server does
// not answer and a local store exists.
func openCatalogReader(ctx context.Context, g *globalFlags, f *readFlags, stderr io.Writer) (*catalogReader, error) {
	cfg, _, err := loadConfig(g, stderr, false)
	if err != nil {
		return nil, err
	}
	if f.server != "" && f.dataDir != "" {
		return nil, exitf(2, "give --server or --data-dir, not both")
	}
	if f.dataDir != "" {
		return openLocalCatalog(ctx, cfg, f.dataDir)
	}
	base := f.server
	if base == "" {
		base = cfg.Backend.BaseURL
	}
	if base == "" {
		base = config.DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, exitf(2, "server %q: want an http:// or https:// URL", base)
	}
	remote := &catalogReader{base: strings.TrimRight(base, "/"), client: &http.Client{Timeout: catalogHTTPTimeout}, token: storedToken(base)}
	if f.server != "" || !localStoreExists(cfg) || remote.answers(ctx) {
		return remote, nil
	}
	fmt.Fprintf(stderr, "greenroom: no server answers at %s; reading the local store\n", remote.base)
	return openLocalCatalog(ctx, cfg, cfg.Greenroom.DataDir)
}

// answers reports whether a server listens at the base URL.
func (c *catalogReader) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/catalog/entities/by-query?limit=0", nil)
	if err != nil {
		return false
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

func localStoreExists(cfg *config.Config) bool {
	if cfg.Backend.Database.Driver() == "postgres" {
		return true
	}
	p := cfg.Backend.Database.SQLitePath(cfg.Greenroom.DataDir)
	if p == ":memory:" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// openLocalCatalog serves the catalog API in-process over the store of
// dataDir (or the configured PostgreSQL database), so that get and list
// take the same path as against a server.
func openLocalCatalog(ctx context.Context, cfg *config.Config, dataDir string) (*catalogReader, error) {
	if cfg.Backend.Database.Driver() == "sqlite" {
		p := cfg.Backend.Database.SQLitePath(dataDir)
		if _, err := os.Stat(p); err != nil {
			return nil, exitf(1, "no Greenroom store at %s: start greenroom serve, or point --data-dir at its data dir", p)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	st, err := openStore(ctx, cfg, dataDir, logger)
	if err != nil {
		if greenroom.ErrorCode(err) == greenroom.CodeConflict && strings.Contains(err.Error(), "in use") {
			return nil, exitf(1, "%s: a running greenroom holds it; query that server instead with --server URL (e.g. --server %s)",
				greenroom.ErrorMessage(err), cfg.Backend.BaseURL)
		}
		return nil, exitf(1, "open the local store: %s", oneLine(err))
	}
	svc, err := catalog.NewService(st, nil, logger, cfg.Greenroom.Catalog.EntityKinds()...)
	if err != nil {
		st.Close()
		return nil, exitf(1, "%v", err)
	}
	mux := http.NewServeMux()
	api.New(svc, logger).Routes(mux)
	return &catalogReader{base: "http://local.invalid", client: &http.Client{Transport: handlerTransport{mux}}, close: st.Close}, nil
}

// handlerTransport answers requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := &responseBuffer{header: http.Header{}, code: http.StatusOK}
	t.h.ServeHTTP(w, req)
	return &http.Response{
		StatusCode: w.code, Status: strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		Header: w.header, Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req,
	}, nil
}

type responseBuffer struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (w *responseBuffer) Header() http.Header { return w.header }
func (w *responseBuffer) Write(p []byte) (int, error) {
	w.wrote = true
	return w.body.Write(p)
}
func (w *responseBuffer) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
}

// call GETs a catalog API path and returns the body of a 200, or the
// server's error message with exit code 1.
func (c *catalogReader) call(ctx context.Context, path string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, exitf(1, "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, exitf(1, "cannot reach %s: %v; start greenroom serve, or read the local store with --data-dir", c.base, rootCause(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, exitf(1, "read the answer of %s: %v", c.base, err)
	}
	if int64(len(body)) > max {
		return nil, exitf(1, "the answer of %s is larger than %d MiB", c.base, max>>20)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Name, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return nil, exitf(1, "%s", e.Error.Message)
		}
		return nil, exitf(1, "%s answered %s", c.base, resp.Status)
	}
	return body, nil
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// entity fetches one entity through GET /entities/by-name.
func (c *catalogReader) entity(ctx context.Context, ref greenroom.EntityRef) ([]byte, error) {
	path := "/api/catalog/entities/by-name/" + url.PathEscape(ref.Kind) + "/" + url.PathEscape(ref.Namespace) + "/" + url.PathEscape(ref.Name)
	return c.call(ctx, path, maxEntityBytes)
}

type listQuery struct {
	filters  []string
	fields   []string
	limit    int // 0: every match
	pageSize int
}

// tableFields are what the table needs of each entity.
var tableFields = []string{"kind", "metadata.namespace", "metadata.name", "spec.owner", "spec.type", "spec.lifecycle"}

// page fetches one page of GET /entities/by-query.
func (c *catalogReader) page(ctx context.Context, q listQuery, cursor string, n int) (items []json.RawMessage, next string, err error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	} else {
		for _, f := range q.filters {
			v.Add("filter", f)
		}
	}
	if len(q.fields) > 0 {
		v.Set("fields", strings.Join(q.fields, ","))
	}
	v.Set("limit", strconv.Itoa(n))
	body, err := c.call(ctx, "/api/catalog/entities/by-query?"+v.Encode(), maxPageBytes)
	if err != nil {
		return nil, "", err
	}
	var resp struct {
		Items    []json.RawMessage `json:"items"`
		PageInfo struct {
			NextCursor string `json:"nextCursor"`
		} `json:"pageInfo"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, "", exitf(1, "%s answered something that is not a by-query page: %v", c.base, err)
	}
	return resp.Items, resp.PageInfo.NextCursor, nil
}

// listEntities walks the by-query pages, printing as it goes so that a
// large catalog never sits in memory whole.
func listEntities(ctx context.Context, c *catalogReader, q listQuery, output string, w io.Writer) error {
	var tw *tabwriter.Writer
	if output == "table" {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tOWNER\tTYPE\tLIFECYCLE")
	}
	if output == "json" {
		fmt.Fprint(w, "[")
	}
	printed, cursor := 0, ""
	for {
		n := q.pageSize
		if q.limit > 0 {
			n = min(n, q.limit-printed)
		}
		items, next, err := c.page(ctx, q, cursor, n)
		if err != nil {
			return err
		}
		for _, it := range items {
			if q.limit > 0 && printed == q.limit {
				break
			}
			switch output {
			case "table":
				fmt.Fprintln(tw, tableRow(it))
			case "json":
				if printed > 0 {
					fmt.Fprint(w, ",")
				}
				fmt.Fprint(w, "\n  ")
				if err := writeIndented(w, it, "  "); err != nil {
					return err
				}
			default:
				if err := writeEntity(w, "yaml", it, true); err != nil {
					return err
				}
			}
			printed++
		}
		if next == "" || len(items) == 0 || (q.limit > 0 && printed >= q.limit) {
			break
		}
		cursor = next
	}
	switch output {
	case "table":
		return tw.Flush()
	case "json":
		if printed > 0 {
			fmt.Fprint(w, "\n")
		}
		_, err := fmt.Fprintln(w, "]")
		return err
	}
	return nil
}

func tableRow(raw json.RawMessage) string {
	var e struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
		Spec map[string]any `json:"spec"`
	}
	_ = json.Unmarshal(raw, &e) // a field of an unexpected type shows as "-"
	cell := func(s string) string {
		if s == "" {
			return "-"
		}
		return strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
	}
	spec := func(k string) string {
		s, _ := e.Spec[k].(string)
		return cell(s)
	}
	return strings.Join([]string{cell(e.Kind), cell(e.Metadata.Namespace), cell(e.Metadata.Name), spec("owner"), spec("type"), spec("lifecycle")}, "\t")
}

// writeEntity prints one entity as YAML (a document of a stream when
// multi is set) or as indented JSON.
func writeEntity(w io.Writer, output string, raw []byte, multi bool) error {
	if output == "json" {
		if err := writeIndented(w, raw, ""); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w)
		return err
	}
	out, err := yaml.JSONToYAML(raw)
	if err != nil {
		return exitf(1, "entity is not valid JSON: %v", err)
	}
	if multi {
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
	}
	_, err = w.Write(out)
	return err
}

func writeIndented(w io.Writer, raw []byte, prefix string) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, prefix, "  "); err != nil {
		return exitf(1, "entity is not valid JSON: %v", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// catalogRules builds the catalog rules of cfg as Backstage's
// DefaultCatalogRulesEnforcer.fromConfig does: catalog.rules when set,
// else the default rules; then each catalog.locations entry's rules,
// limited to that location (a file location by its absolute path). The
// lead wires it into serve; validate does not apply rules.
func catalogRules(cfg *config.Config) (*catalog.RulesEnforcer, error) {
	rules := catalog.DefaultRules()
	if cfg.Catalog.RulesSet {
		rules = make([]catalog.Rule, 0, len(cfg.Catalog.Rules))
		for _, r := range cfg.Catalog.Rules {
			var cr catalog.Rule
			for _, a := range r.Allow {
				cr.Allow = append(cr.Allow, catalog.RuleAllow{Kind: a.Kind, SpecType: a.SpecType})
			}
			if r.Locations != nil {
				cr.Locations = []catalog.RuleLocation{}
				for _, l := range r.Locations {
					cr.Locations = append(cr.Locations, catalog.RuleLocation{Type: l.Type, Exact: l.Exact, Pattern: l.Pattern})
				}
			}
			rules = append(rules, cr)
		}
	}
	for _, l := range cfg.Catalog.Locations {
		if len(l.Rules) == 0 {
			continue
		}
		target := l.Target
		if l.Type == "file" {
			abs, err := filepath.Abs(l.Path)
			if err != nil {
				return nil, fmt.Errorf("catalog rules: location %s: %w", l.Target, err)
			}
			target = abs
		}
		allow := make([][]string, len(l.Rules))
		for i, r := range l.Rules {
			allow[i] = r.Allow
		}
		rules = append(rules, catalog.LocationRules(catalog.LocationSpec{Type: l.Type, Target: target}, allow)...)
	}
	return catalog.NewRulesEnforcer(rules)
}
