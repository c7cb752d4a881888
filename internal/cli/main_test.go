package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// TestMain lets the test binary act as the greenroom binary: a test runs
// os.Args[0] with GREENROOM_CLI_MAIN=1 to get a real process with real
// signals, exit codes and file locks.
func TestMain(m *testing.M) {
	if os.Getenv("GREENROOM_CLI_MAIN") == "1" {
		ctx, stop := signalContext()
		code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// proc is a greenroom process started by a test.
type proc struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	done   chan struct{}
	code   int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs greenroom with args in dir and returns at once.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GREENROOM_CLI_MAIN=1"), env...)
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	cmd.Stdout = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("greenroom output:\n%s", p.stderr.String())
		}
	})
	return p
}

// serve starts `greenroom serve` on a free port and waits for /readyz.
func serve(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]string{}, args...), "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port))
	p := start(t, dir, env, all...)
	p.base = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for get(http.DefaultClient, p.base+"/readyz") != http.StatusOK {
		select {
		case <-p.done:
			t.Fatalf("greenroom exited with %d before ready:\n%s", p.code, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s:\n%s", p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p
}

// run runs greenroom to completion and returns its exit code and output.
func run(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	p := start(t, dir, env, args...)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("greenroom %v did not exit:\n%s", args, p.stderr.String())
	}
	return p.code, p.stderr.String()
}

func (p *proc) stop(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("greenroom did not stop within 30s of SIGTERM")
	}
	return p.code
}

func getJSON(t *testing.T, url string, into any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

type entity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name, Namespace, UID, Etag string
	} `json:"metadata"`
}

func waitEntities(t *testing.T, base, query string, min int) []entity {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ents []entity
		if code := getJSON(t, base+"/api/catalog/entities"+query, &ents); code == 200 && len(ents) >= min {
			return ents
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d entities for %q within 10s", min, query)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type backstageError struct {
	Error struct {
		Name, Message string
	} `json:"error"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

func TestServeZeroConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	begin := time.Now()
	p := serve(t, dir, nil)
	// A guard against a start-up that hangs or crawls, not the start-up
	// figure: that is `greenroom bench startup` (docs/BENCHMARKS.md). The
	// suite runs this beside every other package's tests on 2 cores.
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("ready after %v, want < 10s", d)
	}
	if _, err := os.Stat(filepath.Join(dir, ".greenroom", "greenroom.db")); err != nil {
		t.Errorf("default data dir not used: %v", err)
	}

	comps := waitEntities(t, p.base, "?filter=kind=component", 25)
	for _, e := range comps {
		if e.Kind != "Component" || e.Metadata.UID == "" || e.Metadata.Etag == "" || e.Metadata.Namespace != "default" {
			t.Errorf("bad component %+v", e)
		}
	}
	all := waitEntities(t, p.base, "", 100)
	kinds := map[string]int{}
	for _, e := range all {
		kinds[e.Kind]++
	}
	for _, k := range []string{"Domain", "System", "Component", "API", "Resource", "Group", "User", "Location"} {
		if kinds[k] == 0 {
			t.Errorf("demo company has no %s entities: %v", k, kinds)
		}
	}

	var one map[string]any
	c := comps[0]
	if code := getJSON(t, fmt.Sprintf("%s/api/catalog/entities/by-name/component/default/%s", p.base, c.Metadata.Name), &one); code != 200 {
		t.Errorf("by-name: status %d", code)
	}
	var nf backstageError
	if code := getJSON(t, p.base+"/api/catalog/entities/by-name/component/default/no-such-thing", &nf); code != 404 ||
		nf.Error.Name != "NotFoundError" || nf.Response.StatusCode != 404 {
		t.Errorf("missing entity: %d %+v", code, nf)
	}

	t.Run("health and metrics", func(t *testing.T) {
		if code := get(http.DefaultClient, p.base+"/healthz"); code != 200 {
			t.Errorf("/healthz %d", code)
		}
		resp, err := http.Get(p.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`greenroom_http_request_duration_seconds_bucket{code="200",method="GET",route="GET /api/catalog/entities"`,
			`go_sql_max_open_connections{db_name="read"}`, `go_sql_open_connections{db_name="write"}`,
			`greenroom_jobs_processed_total{kind="catalog.refresh",result="done"}`, `greenroom_jobs{state="done"}`, "go_goroutines", "process_resident_memory_bytes",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("home page", func(t *testing.T) {
		resp, err := http.Get(p.base + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "entities in the catalog") {
			t.Errorf("home: %d %.200s", resp.StatusCode, body)
		}
	})

	t.Run("bad requests are 4xx with a JSON body", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			status                   int
			errName                  string
		}{
			{"unknown api route", "GET", "/api/nope", "", 404, "NotFoundError"},
			{"bad filter", "GET", "/api/catalog/entities?filter==service", "", 400, "InputError"},
			{"bad limit", "GET", "/api/catalog/entities?limit=-1", "", 400, "InputError"},
			{"malformed json", "POST", "/api/catalog/refresh", "{not json", 400, "InputError"},
			// Not on the form [<kind>:][<namespace>/]<name> for Backstage's
			// parseEntityRef ("a:b/c/d" is: name "c/d", so a 404).
			{"bad entity ref", "POST", "/api/catalog/refresh", `{"entityRef":"a:/c"}`, 400, "InputError"},
			{"oversized body", "POST", "/api/catalog/refresh", `{"entityRef":"` + strings.Repeat("x", 11<<20) + `"}`, 413, "PayloadTooLargeError"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(tt.method, p.base+tt.path, strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var be backstageError
				if err := json.NewDecoder(resp.Body).Decode(&be); err != nil {
					t.Fatalf("body is not JSON: %v", err)
				}
				if resp.StatusCode != tt.status || be.Error.Name != tt.errName || be.Response.StatusCode != tt.status {
					t.Errorf("got %d %+v, want %d %s", resp.StatusCode, be, tt.status, tt.errName)
				}
			})
		}
	})

	t.Run("second serve on the same data dir fails clearly", func(t *testing.T) {
		port, _ := freePort()
		code, out := run(t, dir, nil, "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port))
		if code != 1 || !strings.Contains(out, "in use by another greenroom process") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})

	if code := p.stop(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Error("no clean stop logged")
	}
}

func TestBadConfigExitsBeforeTouchingDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "app-config.yaml")
	os.WriteFile(cfg, []byte("backend:\n  listen:\n    port: seven\n"), 0o644)
	code, out := run(t, dir, nil, "--config", cfg, "serve", "--data-dir", filepath.Join(dir, "data"))
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(out, "app-config.yaml:3") || !strings.Contains(out, "backend.listen.port") {
		t.Errorf("error does not locate the problem:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("data dir was created: %v", err)
	}
}

func TestUnreachableDatabaseExitsWithOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "app-config.yaml")
	os.WriteFile(cfg, []byte(`backend:
  database:
    client: pg
    connection: postgres://greenroom:s3cret-pw@127.0.0.1:1/greenroom
greenroom:
  database:
    connectTimeout: 1s
`), 0o644)
	begin := time.Now()
	port, _ := freePort()
	code, out := run(t, dir, nil, "--config", cfg, "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port))
	if code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, out)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("took %v to give up", d)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "unreachable") || strings.Contains(out, "s3cret-pw") {
		t.Errorf("last line %q; whole output:\n%s", last, out)
	}
}

func TestConfigCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("app:\n  title: Acme\nbackend:\n  database:\n    client: pg\n    connection:\n      host: db\n      user: gr\n      password: hunter2-secret\n"), 0o644)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("backend:\n  baseUrl: http://localhost:7007\n  lisen:\n    port: 7007\n"), 0o644)

	code, out := run(t, dir, nil, "config", "check", "--config", good)
	if code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("check good: %d %s", code, out)
	}
	code, out = run(t, dir, nil, "config", "check", "--config", good, "--config", typo)
	if code != 1 || !strings.Contains(out, "typo.yaml:3") || !strings.Contains(out, "backend.lisen") || !strings.Contains(out, "listen") {
		t.Errorf("check typo: %d %s", code, out)
	}
	code, out = run(t, dir, nil, "config", "dump", "--config", good)
	if code != 0 || !strings.Contains(out, "title: Acme") || strings.Contains(out, "hunter2-secret") {
		t.Errorf("dump: %d %s", code, out)
	}
	code, out = run(t, dir, nil, "--help")
	for _, cmd := range []string{"serve", "config", "version", "bench"} {
		if code != 0 || !strings.Contains(out, cmd) {
			t.Errorf("--help lacks %s", cmd)
		}
	}
	code, out = run(t, dir, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "greenroom ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestShutdownUnderLoadLosesNoAcknowledgedWrite hammers a write endpoint,
// sends SIGTERM mid-stream, and then checks that every request the server
// answered 200 is durably stored, on both engines.
func TestShutdownUnderLoadLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		dir := t.TempDir()
		cfg := "greenroom:\n  demo: false\n"
		if opts.Driver == store.DriverPostgres {
			cfg += fmt.Sprintf("backend:\n  database:\n    client: pg\n    connection: %q\n", opts.DSN)
		} else {
			opts.SQLitePath = filepath.Join(dir, ".greenroom", "greenroom.db")
		}
		p := serve(t, dir, nil, "--config", writeConfig(t, dir, cfg))
		acked := hammerRefresh(t, p.base, 400*time.Millisecond, func() {
			if code := p.stop(t); code != 0 {
				t.Errorf("exit %d", code)
			}
		})
		if len(acked) < minAckedWrites {
			t.Fatalf("only %d acknowledged writes; load too light to mean anything", len(acked))
		}
		stored := storedRefreshRequestIDs(t, opts)
		missing := 0
		for _, id := range acked {
			if !stored[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%d of %d acknowledged writes lost", missing, len(acked))
		}
		t.Logf("%d acknowledged writes, all stored", len(acked))
	})
}

// minAckedWrites is how many acknowledged writes a shutdown test needs
// before it stops the server.
const minAckedWrites = 20

// hammerRefresh posts refresh requests from 8 clients, calls stop after
// the given time once minAckedWrites were answered, and returns the
// request ids answered 200.
func hammerRefresh(t *testing.T, base string, after time.Duration, stop func()) []string {
	t.Helper()
	var mu sync.Mutex
	var ok []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("load-%d-%d", w, i)
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/catalog/refresh", nil)
				req.Header.Set("X-Request-Id", id)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					ok = append(ok, id)
					mu.Unlock()
				}
			}
		}(w)
	}
	// Stop mid-stream once enough writes were acknowledged to mean
	// something: on a loaded machine 400 ms may see only a few.
	start := time.Now()
	for {
		mu.Lock()
		n := len(ok)
		mu.Unlock()
		if since := time.Since(start); (since >= after && n >= minAckedWrites) || since > 20*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	cancel()
	wg.Wait()
	return ok
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	f := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
