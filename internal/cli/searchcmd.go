package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/api"
	"greenroom/internal/search"
)

// maxSearchBody bounds a search response read by the CLI.
const maxSearchBody = 16 << 20

func newSearchCmd(g *globalFlags) *cobra.Command {
	f := &readFlags{}
	var types, filters []string
	var limit int
	cmd := &cobra.Command{
		Use:   "search TERM",
		Short: "Search services, APIs, docs, teams and people",
		Long: `Search everything the portal indexes, as the portal's search box does:
typo-tolerant, prefix and in-word matching, Chinese text. --type restricts the
document types (software-catalog, techdocs, template); --filter field=value restricts
kind, type, lifecycle, owner, namespace, system, category or tags. It asks a
server (--server, or backend.baseUrl) and falls back to the local data dir.

  greenroom search reindex    rebuilds the index (on the server, or locally)`,
		Example: `  greenroom search paymnt-gateway
  greenroom search "rotate credentials" --type techdocs
  greenroom search ledger --filter kind=api -o json`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != "table" && f.output != "json" {
				return exitf(2, "--output %q: want table or json", f.output)
			}
			if limit < 1 || limit > search.MaxLimit {
				return exitf(2, "--limit %d: want 1 to %d", limit, search.MaxLimit)
			}
			v := url.Values{"term": {strings.Join(args, " ")}, "pageLimit": {fmt.Sprint(limit)}}
			for _, t := range types {
				v.Add("types[]", t)
			}
			for _, fl := range filters {
				k, val, ok := strings.Cut(fl, "=")
				if !ok || k == "" {
					return exitf(2, "--filter %q: want field=value", fl)
				}
				v.Add("filters["+k+"]", val)
			}
			c, err := openSearchClient(cmd.Context(), g, f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer c.Close()
			body, err := searchCall(cmd.Context(), c, http.MethodGet, "/api/search/query?"+v.Encode(), maxSearchBody)
			if err != nil {
				return err
			}
			return printSearch(cmd.OutOrStdout(), f.output, body)
		},
	}
	f.register(cmd, "table|json")
	cmd.Flags().StringSliceVar(&types, "type", nil, "document types to search (software-catalog, techdocs, template); repeatable")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "field=value restriction, e.g. kind=component (repeatable)")
	cmd.Flags().IntVar(&limit, "limit", 20, "results to print")
	cmd.AddCommand(newSearchReindexCmd(g))
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitf(2, "%v", err) })
	return cmd
}

func newSearchReindexCmd(g *globalFlags) *cobra.Command {
	f := &readFlags{}
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search index (queries keep working meanwhile)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openSearchClient(cmd.Context(), g, f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer c.Close()
			started := time.Now()
			body, err := searchCall(cmd.Context(), c, http.MethodPost, "/api/search/reindex?wait=true", maxSearchBody)
			if err != nil {
				return err
			}
			var st search.Status
			if err := json.Unmarshal(body, &st); err != nil {
				return exitf(1, "unexpected reindex response: %v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %d documents in %v\n", st.Documents, time.Since(started).Round(time.Millisecond))
			for src, e := range st.SourceError {
				fmt.Fprintf(cmd.ErrOrStderr(), "source %s failed: %s\n", src, e)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.server, "server", "", "Greenroom base URL (default: backend.baseUrl)")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "rebuild the index in this data dir directly instead of on a server")
	f.output = "table"
	return cmd
}

// openSearchClient reads like the catalog commands: a server, or the
// local data dir with the search API served in-process over a search
// service on the local store and index.
func openSearchClient(ctx context.Context, g *globalFlags, f *readFlags, stderr io.Writer) (*catalogReader, error) {
	c, err := openCatalogReader(ctx, g, f, stderr)
	if err != nil {
		return nil, err
	}
	if c.base != "http://local.invalid" {
		return c, nil
	}
	c.Close()
	cfg, _, err := loadConfig(g, stderr, false)
	if err != nil {
		return nil, err
	}
	dataDir := f.dataDir
	if dataDir == "" {
		dataDir = cfg.Greenroom.DataDir
	}
	logger := slog.New(slog.DiscardHandler)
	st, err := openStore(ctx, cfg, dataDir, logger)
	if err != nil {
		return nil, exitf(1, "open the local store: %s", oneLine(err))
	}
	backend, err := searchBackend(ctx, cfg.Search, logger)
	if err != nil {
		st.Close()
		return nil, exitf(1, "%v", err)
	}
	svc, err := search.NewService(search.Options{Dir: searchDir(cfg, dataDir), Logger: logger, Backend: backend}, search.NewCatalogSource(st, nil))
	if err != nil {
		st.Close()
		return nil, exitf(1, "%v", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	if err := svc.Start(sctx); err != nil {
		cancel()
		st.Close()
		return nil, exitf(1, "%v", err)
	}
	// A missing index is being built: wait for it before answering.
	for (svc.Status().Building || svc.Notice() != "") && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	mux := http.NewServeMux()
	api.NewSearchAPI(svc, func() {}, logger).Routes(mux)
	return &catalogReader{base: "http://local.invalid", client: &http.Client{Transport: handlerTransport{mux}}, close: func() error {
		cancel()
		svc.Close()
		return st.Close()
	}}, nil
}

// searchCall sends a request to a search API path and returns the body
// of a 2xx answer, or the server's error message with exit code 1.
func searchCall(ctx context.Context, c *catalogReader, method, path string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, exitf(1, "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, exitf(1, "cannot reach %s: %v; start greenroom serve, or search the local data dir with --data-dir", c.base, rootCause(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, exitf(1, "read the answer of %s: %v", c.base, err)
	}
	if int64(len(body)) > max {
		return nil, exitf(1, "the answer of %s is larger than %d MiB", c.base, max>>20)
	}
	if resp.StatusCode/100 != 2 {
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

func printSearch(w io.Writer, output string, body []byte) error {
	var res struct {
		Results []struct {
			Type     string         `json:"type"`
			Document map[string]any `json:"document"`
			Rank     int            `json:"rank"`
		} `json:"results"`
		NumberOfResults int      `json:"numberOfResults"`
		DidYouMean      []string `json:"didYouMean"`
		Notice          string   `json:"notice"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return exitf(1, "unexpected search response: %v", err)
	}
	if output == "json" {
		_, err := w.Write(body)
		return err
	}
	if res.Notice != "" {
		fmt.Fprintln(w, "note: "+res.Notice)
	}
	if len(res.Results) == 0 {
		fmt.Fprintln(w, "no results")
		if len(res.DidYouMean) > 0 {
			fmt.Fprintln(w, "did you mean: "+strings.Join(res.DidYouMean, ", "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tTYPE\tTITLE\tLOCATION")
	for _, r := range res.Results {
		title, _ := r.Document["title"].(string)
		loc, _ := r.Document["location"].(string)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Rank, r.Type, title, loc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d of %d results\n", len(res.Results), res.NumberOfResults)
	return nil
}
