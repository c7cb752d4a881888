package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/config"
	"greenroom/internal/integration/githubprovider"
)

// maxProvidersBytes bounds the answer of GET /api/catalog/providers.
const maxProvidersBytes = 4 << 20

func newCatalogProvidersCmd(g *globalFlags) *cobra.Command {
	var server, output string
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "Show the entity providers' state (last success, last error, next run)",
		Long: `Show each entity provider's state as the running server knows it
(GET /api/catalog/providers): last successful scan, last error, next run,
repositories seen, catalog files found, requests used and the rate limit left.
The state lives in the server, so this command needs one to answer.`,
		Example: `  greenroom catalog providers
  greenroom catalog providers --server https://greenroom.acme.dev -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return exitf(2, "--output %q: want table or json", output)
			}
			if server == "" {
				cfg, _, err := loadConfig(g, cmd.ErrOrStderr(), false)
				if err != nil {
					return err
				}
				server = cfg.Backend.BaseURL
			}
			if server == "" {
				server = config.DefaultBaseURL
			}
			u, err := url.Parse(server)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return exitf(2, "server %q: want an http:// or https:// URL", server)
			}
			c := &catalogReader{base: strings.TrimRight(server, "/"), client: &http.Client{Timeout: catalogHTTPTimeout}}
			body, err := c.call(cmd.Context(), "/api/catalog/providers", maxProvidersBytes)
			if err != nil {
				return err
			}
			var list githubprovider.StatusList
			if err := json.Unmarshal(body, &list); err != nil {
				return exitf(1, "%s answered something that is not a provider list: %v", c.base, err)
			}
			if output == "json" {
				out, _ := json.MarshalIndent(list, "", "  ")
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
				return err
			}
			return printProviders(cmd.OutOrStdout(), list.Items, time.Now())
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "Greenroom base URL (default: backend.baseUrl, else http://localhost:7007)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table|json")
	return cmd
}

// printProviders writes the providers' table.
func printProviders(w io.Writer, items []githubprovider.Status, now time.Time) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, "No entity providers are configured (catalog.providers).")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSOURCE\tSTATE\tLAST SUCCESS\tNEXT RUN\tREPOS\tFILES\tPROBLEMS\tREQUESTS\tRATE LEFT\tLAST ERROR")
	for _, s := range items {
		state := "ok"
		switch {
		case s.Running:
			state = "running"
		case s.LastError != "":
			state = "failing"
		case s.LastSuccess.IsZero():
			state = "pending"
		}
		rate := "-"
		var parts []string
		for _, rl := range s.RateLimits {
			parts = append(parts, fmt.Sprintf("%s %d/%d", rl.Resource, rl.Remaining, rl.Limit))
		}
		if len(parts) > 0 {
			rate = strings.Join(parts, ", ")
		}
		lastErr := s.LastError
		if len(lastErr) > 80 {
			lastErr = lastErr[:77] + "..."
		}
		if lastErr == "" {
			lastErr = "-"
		}
		typ, source, repos, files := s.Type, s.Organization, strconv.Itoa(s.ReposSeen), strconv.Itoa(s.FilesFound)
		if typ == "" {
			typ = "github"
		}
		switch typ {
		case "githubOrg":
			repos, files = "-", fmt.Sprintf("%d users, %d groups", s.Users, s.Groups)
		case "git", "directory":
			source, repos = s.Target, "-"
			if s.Commit != "" {
				source += "@" + shortCommit(s.Commit)
			}
		}
		if source == "" {
			source = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Name, typ, source, state, ago(s.LastSuccess, now),
			ago(s.NextRun, now), repos, files, s.Problems, s.Requests, rate, lastErr)
	}
	return tw.Flush()
}

// shortCommit is the first 12 characters of a commit id.
func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// ago shows t relative to now ("3m ago", "in 40s"), or "never".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}
