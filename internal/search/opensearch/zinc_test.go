package opensearch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ZincSearch is the real Elasticsearch-compatible server the tests run
// against (OpenSearch and Elasticsearch need a JVM this machine has not).
// It is built from the module proxy at the version testdata/zinc/go.mod
// pins, into the user's cache directory, once; the main module never
// depends on it. Two patches make v0.4.10 build: its embedded web UI
// (web/dist, absent from the module zip) gets a placeholder page, and
// godeltaprof v0.1.2's linkname stub, fenced to Go < 1.22, is unfenced.
const zincVersion = "v0.4.10"

const (
	zincUser = "admin"
	zincPass = "Complexpass#123"
)

var zinc struct {
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
	dir  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if zinc.cmd != nil {
		zinc.cmd.Process.Kill()
		zinc.cmd.Wait()
		os.RemoveAll(zinc.dir)
	}
	os.Exit(code)
}

// zincURL returns the /es base URL of a running ZincSearch, building and
// starting it on first use. It skips loudly when ZincSearch cannot be
// built, and fails under CI=true.
func zincURL(t testing.TB) string {
	t.Helper()
	zinc.once.Do(func() { zinc.url, zinc.err = startZinc() })
	if zinc.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ZincSearch is needed under CI=true: %v", zinc.err)
		}
		t.Skipf("SKIPPED: ZincSearch unavailable, the OpenSearch engine is not tested against a server: %v", zinc.err)
	}
	return zinc.url
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// zincBinary builds ZincSearch once per pinned go.mod/go.sum.
func zincBinary() (string, error) {
	pin, err := filepath.Abs("testdata/zinc")
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(pin, "go.mod"))
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(pin, "go.sum"))
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(append(mod, sum...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir() // no HOME (some CI runners)
	}
	root := filepath.Join(cache, "greenroom", "zincsearch-"+zincVersion+"-"+hex.EncodeToString(h[:6]))
	bin := filepath.Join(root, "zincsearch")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	env := []string{"GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}
	if _, err := run(pin, env, goCmd(), "mod", "download", "github.com/zincsearch/zincsearch", "github.com/pyroscope-io/godeltaprof"); err != nil {
		return "", err
	}
	dirs, err := run(pin, env, goCmd(), "list", "-m", "-f", "{{.Dir}}", "github.com/zincsearch/zincsearch", "github.com/pyroscope-io/godeltaprof")
	if err != nil {
		return "", err
	}
	d := strings.Fields(dirs)
	if len(d) != 2 {
		return "", fmt.Errorf("go list -m: %q", dirs)
	}
	work, err := os.MkdirTemp(filepath.Dir(root), "zincbuild-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
			return "", err
		}
		if work, err = os.MkdirTemp(filepath.Dir(root), "zincbuild-"); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(work)
	for i, name := range []string{"zinc", "godeltaprof"} {
		if err := os.CopyFS(filepath.Join(work, name), os.DirFS(d[i])); err != nil {
			return "", fmt.Errorf("copy %s: %w", d[i], err)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "zinc", "web", "dist"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(work, "zinc", "web", "dist", "index.html"), []byte("<!doctype html><title>ZincSearch</title>\n"), 0o644); err != nil {
		return "", err
	}
	stub := filepath.Join(work, "godeltaprof", "internal", "pprof", "stub.go")
	src, err := os.ReadFile(stub)
	if err != nil {
		return "", err
	}
	src = []byte(strings.NewReplacer("//go:build go1.16 && !go1.22", "//go:build go1.16", "// +build go1.16,!go1.22", "").Replace(string(src)))
	if err := os.WriteFile(stub, src, 0o644); err != nil {
		return "", err
	}
	build := filepath.Join(work, "build")
	if err := os.MkdirAll(build, 0o755); err != nil {
		return "", err
	}
	mod = append(mod, "\nreplace github.com/zincsearch/zincsearch => ../zinc\n\nreplace github.com/pyroscope-io/godeltaprof => ../godeltaprof\n"...)
	for name, data := range map[string][]byte{"go.mod": mod, "go.sum": sum, "tools.go": []byte("//go:build tools\n\npackage zincbuild\n")} {
		if err := os.WriteFile(filepath.Join(build, name), data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(work, "zincsearch")
	if _, err := run(build, env, goCmd(), "build", "-trimpath", "-o", tmp, "github.com/zincsearch/zincsearch/cmd/zincsearch"); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

func startZinc() (string, error) {
	bin, err := zincBinary()
	if err != nil {
		return "", fmt.Errorf("build ZincSearch %s: %w", zincVersion, err)
	}
	data, err := os.MkdirTemp("", "greenroom-zinc-")
	if err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ZINC_FIRST_ADMIN_USER="+zincUser, "ZINC_FIRST_ADMIN_PASSWORD="+zincPass,
		"ZINC_DATA_PATH="+data, "ZINC_SERVER_ADDRESS=127.0.0.1", "ZINC_SERVER_PORT="+port,
		"ZINC_TELEMETRY=false", "ZINC_SENTRY=false", "GIN_MODE=release")
	logf, err := os.Create(filepath.Join(data, "zinc.log"))
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	zinc.cmd, zinc.dir = cmd, data
	base := "http://127.0.0.1:" + port + "/es"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/", nil)
		req.SetBasicAuth(zincUser, zincPass)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(data, "zinc.log"))
	return "", errors.New("ZincSearch did not answer within 30 s: " + string(log[max(0, len(log)-2000):]))
}
