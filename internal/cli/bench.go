package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, for the bench database
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Greenroom's performance targets",
	}
	var runs int
	var idle time.Duration
	var pgDSN string
	startup := &cobra.Command{
		Use:   "startup",
		Short: "Start `greenroom serve` repeatedly; report time to ready, to the demo catalog, and idle RSS",
		Long: `Starts this binary's serve command on a fresh data dir and a free loopback port,
polls /readyz until it answers 200 and /api/catalog/entities until the demo
company is listed, lets the process idle, reads its resident set size from
/proc, then stops it with SIGTERM. Prints the median, min and max of each
figure over --runs runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchStartup(cmd.Context(), cmd.OutOrStdout(), runs, idle, pgDSN)
		},
	}
	startup.Flags().IntVar(&runs, "runs", 10, "number of start-ups")
	startup.Flags().DurationVar(&idle, "idle", 3*time.Second, "how long the process idles before RSS is read")
	startup.Flags().StringVar(&pgDSN, "postgres", "", "measure on this PostgreSQL database instead of embedded SQLite")
	cmd.AddCommand(startup, newBenchCatalogCmd())
	return cmd
}

type startupSample struct {
	ready, catalog time.Duration
	rssKB          int
}

func benchStartup(ctx context.Context, out io.Writer, runs int, idle time.Duration, pgDSN string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var samples []startupSample
	for i := 0; i < runs; i++ {
		s, err := startupOnce(ctx, exe, idle, pgDSN)
		if err != nil {
			return fmt.Errorf("bench: run %d: %w", i+1, err)
		}
		fmt.Fprintf(out, "run %2d: ready %6.1f ms  demo catalog %6.1f ms  idle RSS %5.1f MB\n",
			i+1, ms(s.ready), ms(s.catalog), float64(s.rssKB)/1024)
		samples = append(samples, s)
	}
	summary := func(name string, get func(startupSample) float64, unit string) {
		vals := make([]float64, len(samples))
		for i, s := range samples {
			vals[i] = get(s)
		}
		sort.Float64s(vals)
		fmt.Fprintf(out, "%-22s median %7.1f %s  min %7.1f  max %7.1f\n", name, vals[len(vals)/2], unit, vals[0], vals[len(vals)-1])
	}
	store := "sqlite"
	if pgDSN != "" {
		store = "postgres"
	}
	fmt.Fprintf(out, "\n%d runs on %s:\n", runs, store)
	summary("time to /readyz 200", func(s startupSample) float64 { return ms(s.ready) }, "ms")
	summary("time to demo catalog", func(s startupSample) float64 { return ms(s.catalog) }, "ms")
	summary("idle RSS", func(s startupSample) float64 { return float64(s.rssKB) / 1024 }, "MB")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func startupOnce(ctx context.Context, exe string, idle time.Duration, pgDSN string) (startupSample, error) {
	var s startupSample
	dir, err := os.MkdirTemp("", "greenroom-bench-")
	if err != nil {
		return s, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return s, err
	}
	args := []string{"serve", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:" + strconv.Itoa(port)}
	if pgDSN != "" {
		// A fresh database per run, so every run loads the demo anew.
		fresh, drop, err := freshPostgres(ctx, pgDSN)
		if err != nil {
			return s, err
		}
		defer drop()
		pgDSN = fresh
		cfg := filepath.Join(dir, "app-config.yaml")
		body := fmt.Sprintf("backend:\n  database:\n    client: pg\n    connection: %q\n", pgDSN)
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			return s, err
		}
		args = append([]string{"--config", cfg}, args...)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = dir
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return s, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Second}
	deadline := begin.Add(30 * time.Second)
	for s.ready == 0 || s.catalog == 0 {
		select {
		case <-exited:
			return s, fmt.Errorf("greenroom serve exited early:\n%s", output.String())
		default:
		}
		if time.Now().After(deadline) {
			return s, errors.New("server not ready within 30s")
		}
		if s.ready == 0 && get(client, base+"/readyz") == http.StatusOK {
			s.ready = time.Since(begin)
		}
		if s.ready != 0 && s.catalog == 0 && demoListed(client, base) {
			s.catalog = time.Since(begin)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(idle)
	s.rssKB, err = rssKB(cmd.Process.Pid)
	return s, err
}

func get(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func demoListed(c *http.Client, base string) bool {
	resp, err := c.Get(base + "/api/catalog/entities?filter=kind=component")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var ents []json.RawMessage
	return json.NewDecoder(resp.Body).Decode(&ents) == nil && len(ents) >= 25
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// rssKB reads VmRSS of a process from /proc (Linux).
func rssKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return strconv.Atoi(f[1])
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// freshPostgres creates an empty database on the server of dsn and returns
// its DSN and a function that drops it.
func freshPostgres(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("postgres dsn: %w", err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("greenroom_bench_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create bench database: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}
