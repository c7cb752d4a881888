package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/config"
)

func newCreateCmd(g *globalFlags) *cobra.Command {
	var server, valuesFile, token string
	var sets []string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "create TEMPLATE",
		Short: "Run a template on a Greenroom server, non-interactively (for CI)",
		Long: `Create a scaffolder task from TEMPLATE (a name such as go-service, or a ref
such as template:default/go-service) on a running server, with values from
--values (YAML) and --set key=value, then follow its log until it ends.
Exit code 0 when the task completes, 1 when it fails or is cancelled.

  greenroom create go-service --set name=billing-api \
    --set owner=group:default/team-payments \
    --set repoUrl='github.com?owner=acme&repo=billing-api'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			base, err := serverBase(server, cfg)
			if err != nil {
				return err
			}
			values, err := readValues(valuesFile, sets)
			if err != nil {
				return exitf(2, "%v", err)
			}
			ref := args[0]
			if !strings.Contains(ref, ":") {
				ref = "template:" + ref
			}
			if token == "" {
				token = os.Getenv("GREENROOM_TOKEN")
			}
			c := &apiClient{base: base, token: token, http: &http.Client{}}
			var created struct{ ID string }
			if err := c.post("/api/scaffolder/v2/tasks", map[string]any{"templateRef": ref, "values": values}, &created); err != nil {
				return exitf(1, "create task: %v", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "task %s created: %s/create/tasks/%s\n", created.ID, base, created.ID)
			if noWait {
				return nil
			}
			status, err := c.follow(created.ID, out)
			if err != nil {
				return exitf(1, "follow task %s: %v", created.ID, err)
			}
			if status != "completed" {
				return exitf(1, "task %s %s", created.ID, status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "Greenroom base URL (default: backend.baseUrl, else http://localhost:7007)")
	cmd.Flags().StringVar(&valuesFile, "values", "", "YAML file of parameter values")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "parameter value key=value (repeatable; the value is read as YAML)")
	cmd.Flags().StringVar(&token, "token", "", "bearer token (default: $GREENROOM_TOKEN)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "print the task id and return without following the task")
	return cmd
}

func serverBase(flag string, cfg *config.Config) (string, error) {
	base := flag
	if base == "" {
		base = cfg.Backend.BaseURL
	}
	if base == "" {
		base = config.DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", exitf(2, "server %q: want an http:// or https:// URL", base)
	}
	return strings.TrimRight(base, "/"), nil
}

// apiClient calls a Greenroom server's JSON API.
type apiClient struct {
	base, token string
	http        *http.Client
}

func (c *apiClient) request(method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

func (c *apiClient) post(path string, body, into any) error {
	resp, err := c.request(http.MethodPost, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e backstageErrorBody
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error.Message, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, into)
}

type backstageErrorBody struct {
	Error struct{ Message string } `json:"error"`
}

// follow prints a task's log from its event stream and returns its final
// status, reconnecting after the last event seen if the stream drops.
func (c *apiClient) follow(id string, out io.Writer) (string, error) {
	var after int64
	for attempt := 0; attempt < 30; attempt++ {
		resp, err := c.request(http.MethodGet, fmt.Sprintf("/api/scaffolder/v2/tasks/%s/eventstream?after=%d", url.PathEscape(id), after), nil)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				ID   int64          `json:"id"`
				Type string         `json:"type"`
				Body map[string]any `json:"body"`
			}
			if json.Unmarshal([]byte(data), &ev) != nil {
				continue
			}
			after = ev.ID
			step, _ := ev.Body["stepId"].(string)
			if step == "" {
				step = "task"
			}
			fmt.Fprintf(out, "[%s] %v\n", step, ev.Body["message"])
			if ev.Type == "completion" {
				resp.Body.Close()
				status, _ := ev.Body["status"].(string)
				if e, ok := ev.Body["error"].(map[string]any); ok {
					fmt.Fprintf(out, "error: %v\n", e["message"])
				}
				return status, nil
			}
		}
		resp.Body.Close()
	}
	return "", fmt.Errorf("the event stream kept dropping")
}
