package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
)

// catalogBenchOptions are the flags of `greenroom bench catalog`.
type catalogBenchOptions struct {
	entities, concurrency, requests, perFile int
	maxRSSMB, locations                      int
	duration, ingestTimeout                  time.Duration
	postgres, target, backstageURL           string
	backstageDir, out, workDir               string
	seed                                     uint64
	vacuum                                   bool
	readCacheBytes                           int64
}

// Bounds of the flags, so that a typo cannot ask for unbounded work.
const (
	maxBenchConcurrency = 256
	maxBenchRequests    = 10_000_000
	maxBenchDuration    = time.Hour
	// maxSamples bounds the latencies kept per case; beyond it a uniform
	// reservoir keeps the percentiles honest.
	maxSamples = 1 << 20
)

func newBenchCatalogCmd() *cobra.Command {
	o := &catalogBenchOptions{}
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Ingest a generated catalog through serve (or Backstage), then load its read API",
		Long: `Generates --entities realistic entities (groups, users, domains, systems, APIs,
resources and components with owners, memberships and relations) as YAML
files behind one Location file, starts this binary's serve on a fresh data
dir (or fresh PostgreSQL database with --postgres) with that file as its
catalog location, and records the seconds until all of them are queryable
through GET /api/catalog/entities/by-query. It then measures, one class at a
time with --concurrency workers, p50/p99/max latency of by-name reads of
random entities, filtered by-query pages of 20, and entity facets, and reads
the server's peak RSS (VmHWM) from /proc.

--target backstage runs the same steps against the real Backstage catalog
backend in --backstage-dir (npm ci there first; PostgreSQL required), or,
with --backstage-url, only the load against an already running one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchCatalog(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.entities, "entities", 10000, "number of entities to generate")
	f.IntVar(&o.concurrency, "concurrency", 8, "concurrent workers during the load")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "load duration per request class (by-name, by-query, facets)")
	f.IntVar(&o.requests, "requests", 0, "requests per request class instead of --duration")
	f.IntVar(&o.perFile, "per-file", 1000, "entities per generated YAML file")
	f.IntVar(&o.locations, "locations", 1, "Location files the YAML files are shared among, each a catalog.locations entry (greenroom only)")
	f.DurationVar(&o.ingestTimeout, "ingest-timeout", 2*time.Hour, "give up when the entities are not all queryable by then")
	f.IntVar(&o.maxRSSMB, "max-rss", 8192, "kill the server when its resident set exceeds this many MB, so that a large run cannot exhaust the machine")
	f.StringVar(&o.postgres, "postgres", "", "PostgreSQL server DSN; the bench creates a fresh database on it and drops it after (default: embedded SQLite)")
	f.StringVar(&o.target, "target", "greenroom", "server to measure: greenroom or backstage")
	f.StringVar(&o.backstageDir, "backstage-dir", "bench/backstage", "directory of the Backstage backend (index.js, app-config.yaml, node_modules)")
	f.StringVar(&o.backstageURL, "backstage-url", "", "measure the Backstage backend already running at this URL (load only)")
	f.StringVar(&o.out, "out", "table", "output format: table or json")
	f.StringVar(&o.workDir, "work-dir", "", "keep the generated catalog, configuration, data and server log in this new or empty directory (default: a temporary directory, removed at the end)")
	f.BoolVar(&o.vacuum, "vacuum", true, "on PostgreSQL, VACUUM ANALYZE the fresh database once all entities are queryable, as autovacuum does within a minute or two of a bulk load, so that the load measures the steady state")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the generated catalog and the request mix")
	f.Int64Var(&o.readCacheBytes, "read-cache-bytes", 0, "bound of the server's catalog read cache in bytes, -1 to turn it off, to measure the uncached path (default: the server's own, "+strconv.Itoa(catalog.DefaultReadCacheBytes)+")")
	return cmd
}

func (o *catalogBenchOptions) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.entities < catalogtest.MinEntities || o.entities > catalogtest.MaxEntities {
		bad("--entities %d: want %d to %d", o.entities, catalogtest.MinEntities, catalogtest.MaxEntities)
	}
	if o.concurrency < 1 || o.concurrency > maxBenchConcurrency {
		bad("--concurrency %d: want 1 to %d", o.concurrency, maxBenchConcurrency)
	}
	if o.requests < 0 || o.requests > maxBenchRequests {
		bad("--requests %d: want 0 to %d", o.requests, maxBenchRequests)
	}
	if o.requests == 0 && (o.duration <= 0 || o.duration > maxBenchDuration) {
		bad("--duration %s: want more than 0 and at most %s", o.duration, maxBenchDuration)
	}
	if o.perFile < 1 || o.perFile > catalogtest.MaxPerFile {
		bad("--per-file %d: want 1 to %d", o.perFile, catalogtest.MaxPerFile)
	}
	if o.locations < 1 || o.locations > catalogtest.MaxLocations {
		bad("--locations %d: want 1 to %d", o.locations, catalogtest.MaxLocations)
	}
	if o.target == "backstage" && o.locations > 1 {
		bad("--locations %d: the bench's Backstage app-config has one location", o.locations)
	}
	if o.maxRSSMB < 16 {
		bad("--max-rss %d: want at least 16 (MB)", o.maxRSSMB)
	}
	if o.ingestTimeout <= 0 {
		bad("--ingest-timeout %s: want more than 0", o.ingestTimeout)
	}
	switch o.target {
	case "greenroom":
		if o.backstageURL != "" {
			bad("--backstage-url needs --target backstage")
		}
	case "backstage":
		if o.postgres == "" && o.backstageURL == "" {
			bad("--target backstage needs --postgres: the bench's Backstage backend runs on PostgreSQL")
		}
		if o.backstageURL != "" {
			if u, err := url.Parse(o.backstageURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("--backstage-url %q: want an http:// or https:// URL", o.backstageURL)
			}
		}
	default:
		bad("--target %q: want greenroom or backstage", o.target)
	}
	if o.out != "table" && o.out != "json" {
		bad("--out %q: want table or json", o.out)
	}
	if err := errors.Join(errs...); err != nil {
		return exitf(2, "bench catalog: %w", err)
	}
	return nil
}

// catalogReport is what one run measured. Durations are in seconds,
// latencies in milliseconds, memory in MB (2^20 bytes).
type catalogReport struct {
	Target       string `json:"target"`
	Store        string `json:"store"`
	Entities     int    `json:"entities"`
	Files        int    `json:"files,omitempty"`
	Locations    int    `json:"locations,omitempty"`
	CatalogBytes int64  `json:"catalogBytes,omitempty"`
	Concurrency  int    `json:"concurrency"`
	CPUs         int    `json:"cpus"`
	LoadAverage  string `json:"loadAverage"`
	Date         string `json:"date"`

	ReadySeconds      float64 `json:"readySeconds,omitempty"`
	VisibleSeconds    float64 `json:"visibleSeconds,omitempty"`
	AfterReadySeconds float64 `json:"visibleAfterReadySeconds,omitempty"`
	EntitiesPerSecond float64 `json:"entitiesPerSecond,omitempty"`
	// IngestCPUSeconds is the server's CPU time (user and system) until
	// all entities were queryable: the ingest's cost whatever else the
	// machine was doing (PostgreSQL's own work not included).
	IngestCPUSeconds float64 `json:"ingestCpuSeconds,omitempty"`
	VacuumSeconds    float64 `json:"vacuumSeconds,omitempty"`
	// SettleSeconds is the wait after the ingest for the server to go
	// idle before the load (its background work done).
	SettleSeconds float64 `json:"settleSeconds,omitempty"`
	// Unsettled says the server was still busy when the wait ended.
	Unsettled bool `json:"unsettled,omitempty"`
	// ReadCacheBytes is the server's read cache bound when the run set
	// one (--read-cache-bytes; -1 off).
	ReadCacheBytes int64 `json:"readCacheBytes,omitempty"`

	Cases     []caseReport `json:"cases"`
	PeakRSSMB float64      `json:"peakRssMB,omitempty"`
	EndRSSMB  float64      `json:"endRssMB,omitempty"`
	// EndRSSFileMB is the file-backed part of EndRSSMB: pages of the
	// SQLite file the read connections map, shared with the OS page cache.
	EndRSSFileMB float64 `json:"endRssFileMB,omitempty"`
}

type caseReport struct {
	Class    string  `json:"class"`
	Name     string  `json:"name"` // "" for the class as a whole
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	PerSec   float64 `json:"perSecond"`
	P50      float64 `json:"p50ms"`
	P99      float64 `json:"p99ms"`
	Max      float64 `json:"maxMs"`
	FirstErr string  `json:"firstError,omitempty"`
	// ServerCPUms is the server process's CPU time per request of the
	// class (a database server's own work not included).
	ServerCPUms float64 `json:"serverCpuMsPerRequest,omitempty"`
	// ClientCPUms is this process's CPU time per request: the load
	// generator shares the machine's cores with the server.
	ClientCPUms float64 `json:"clientCpuMsPerRequest,omitempty"`
	// CacheHitRate is the share of responses the server's read cache
	// answered (its X-Greenroom-Cache header); nil when it sent none.
	CacheHitRate *float64 `json:"cacheHitRate,omitempty"`
}

func benchCatalog(ctx context.Context, o *catalogBenchOptions, stdout, stderr io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	rep := &catalogReport{Target: o.target, Store: "sqlite", Entities: o.entities, Concurrency: o.concurrency, ReadCacheBytes: o.readCacheBytes,
		CPUs: runtime.NumCPU(), LoadAverage: loadAverage(), Date: time.Now().UTC().Format(time.RFC3339)}
	if o.postgres != "" || o.target == "backstage" {
		rep.Store = "postgres"
	}
	// Keep-alive connections, one per worker, and no gzip: the generator
	// shares the cores with the server, so it must cost little.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConnsPerHost: o.concurrency + 1, MaxConnsPerHost: o.concurrency + 1, IdleConnTimeout: time.Minute,
		DisableCompression: true,
	}}
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	var mix *requestMix
	var srv *benchServer
	var err error
	if o.backstageURL != "" {
		base := strings.TrimSuffix(o.backstageURL, "/")
		fmt.Fprintf(stderr, "reading the entities of %s\n", base)
		if mix, err = discoverMix(ctx, client, base, o.entities, o.seed); err != nil {
			return fmt.Errorf("bench catalog: %w", err)
		}
		rep.Entities, srv = len(mix.refs), &benchServer{base: base}
	} else if mix, srv, err = ingestCatalog(ctx, o, client, stderr, rep, &cleanups); err != nil {
		return fmt.Errorf("bench catalog: %w", err)
	}

	for _, class := range mix.classes() {
		if err := srv.alive(); err != nil {
			return fmt.Errorf("bench catalog: %w", err)
		}
		fmt.Fprintf(stderr, "load: %s\n", class.name)
		cpu0 := srv.cpuSeconds()
		self0, _ := procCPUSeconds(os.Getpid())
		rows, err := runClass(ctx, client, srv.base, class, o)
		if err != nil {
			return fmt.Errorf("bench catalog: %s: %w", class.name, err)
		}
		if cpu := srv.cpuSeconds() - cpu0; cpu > 0 && rows[0].Requests > 0 {
			rows[0].ServerCPUms = cpu * 1000 / float64(rows[0].Requests)
		}
		if self1, err := procCPUSeconds(os.Getpid()); err == nil && rows[0].Requests > 0 {
			rows[0].ClientCPUms = (self1 - self0) * 1000 / float64(rows[0].Requests)
		}
		rep.Cases = append(rep.Cases, rows...)
	}
	if err := srv.alive(); err != nil {
		return fmt.Errorf("bench catalog: %w", err)
	}
	if srv.cmd != nil {
		peak, _ := procStatusKB(srv.cmd.Process.Pid, "VmHWM")
		end, _ := procStatusKB(srv.cmd.Process.Pid, "VmRSS")
		file, _ := procStatusKB(srv.cmd.Process.Pid, "RssFile")
		rep.PeakRSSMB, rep.EndRSSMB, rep.EndRSSFileMB = float64(peak)/1024, float64(end)/1024, float64(file)/1024
	}
	if err := writeCatalogReport(stdout, o.out, rep); err != nil {
		return err
	}
	for _, c := range rep.Cases {
		if c.Errors > 0 && c.Name == "" {
			return fmt.Errorf("bench catalog: %d %s requests failed, the first with: %s", c.Errors, c.Class, c.FirstErr)
		}
	}
	return nil
}

// ingestCatalog generates the catalog, starts the server on it (on a fresh
// PostgreSQL database with --postgres) and waits until all of it is
// queryable. It appends what undoes each step to cleanups.
func ingestCatalog(ctx context.Context, o *catalogBenchOptions, c *http.Client, stderr io.Writer, rep *catalogReport, cleanups *[]func()) (*requestMix, *benchServer, error) {
	dir, cleanup, err := benchWorkDir(o.workDir)
	if err != nil {
		return nil, nil, err
	}
	*cleanups = append(*cleanups, cleanup)
	genStart := time.Now()
	ents, err := catalogtest.Generate(o.entities, o.seed)
	if err != nil {
		return nil, nil, err
	}
	lay, err := catalogtest.WriteSplit(filepath.Join(dir, "catalog"), ents, o.perFile, o.locations)
	if err != nil {
		return nil, nil, err
	}
	rep.Files, rep.Locations, rep.CatalogBytes = len(lay.Files), len(lay.Roots), lay.Bytes
	mix := newRequestMix(ents, o.seed) // the refs are all the load needs of ents
	fmt.Fprintf(stderr, "generated %d entities in %d files (%.1f MB) in %.1f s\n",
		o.entities, rep.Files, float64(lay.Bytes)/(1<<20), time.Since(genStart).Seconds())

	dsn := ""
	if o.postgres != "" {
		fresh, drop, err := freshPostgres(ctx, o.postgres)
		if err != nil {
			return nil, nil, err
		}
		*cleanups = append(*cleanups, drop)
		dsn = fresh
	}
	srv, err := startBenchServer(o, dir, lay.Roots, dsn)
	if err != nil {
		return nil, nil, err
	}
	*cleanups = append(*cleanups, srv.stop)
	if err := srv.awaitCatalog(ctx, c, o.entities, o.ingestTimeout, stderr, rep); err != nil {
		return nil, nil, err
	}
	if dsn != "" && o.vacuum {
		t0 := time.Now()
		if err := vacuumAnalyze(ctx, dsn); err != nil {
			return nil, nil, err
		}
		rep.VacuumSeconds = time.Since(t0).Seconds()
		fmt.Fprintf(stderr, "VACUUM ANALYZE took %.1f s\n", rep.VacuumSeconds)
	}
	if err := srv.settle(ctx, stderr, rep); err != nil {
		return nil, nil, err
	}
	return mix, srv, nil
}

// settle waits, up to settleTimeout, until the server's background work
// after the ingest (search indexing, docs builds, follow-up jobs) is done:
// until it uses less than settleCPU of a core for a second. Otherwise the
// first class's latencies and CPU per request carry the end of the ingest.
func (s *benchServer) settle(ctx context.Context, progress io.Writer, rep *catalogReport) error {
	if s.cmd == nil {
		return nil
	}
	const settleCPU, settleTimeout = 0.05, 2 * time.Minute
	t0 := time.Now()
	busy := 0.0 // share of a core in the last second
	for time.Since(t0) < settleTimeout {
		c0, db0 := s.cpuSeconds(), postgresCPU()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if err := s.alive(); err != nil {
			return err
		}
		// With PostgreSQL on this machine, the server's background work
		// (the stitch at the end of a first load, index builds) runs
		// mostly in the database's processes: count theirs too.
		if busy = s.cpuSeconds() - c0 + cpuSince(db0, postgresCPU()); busy < settleCPU {
			break
		}
	}
	rep.SettleSeconds = time.Since(t0).Seconds()
	if busy >= settleCPU {
		// The load runs anyway, but its latencies and the server's CPU
		// per request then carry the background work: say so.
		rep.Unsettled = true
		fmt.Fprintf(progress, "server still busy after %.1f s (%.0f %% of a core): the load's figures include its background work\n", rep.SettleSeconds, 100*busy)
		return nil
	}
	fmt.Fprintf(progress, "server settled after %.1f s\n", rep.SettleSeconds)
	return nil
}

// benchWorkDir returns the directory of a run: dir, which must be new or
// empty and is kept, or a temporary one removed by cleanup.
func benchWorkDir(dir string) (string, func(), error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "greenroom-bench-catalog-")
		return tmp, func() { os.RemoveAll(tmp) }, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", nil, fmt.Errorf("--work-dir %s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	abs, err := filepath.Abs(dir)
	return abs, func() {}, err
}

// benchServer is the measured server: a child process, or a URL only.
type benchServer struct {
	base    string
	cmd     *exec.Cmd
	log     string // path of the child's combined output
	begin   time.Time
	exited  chan struct{}
	ready   string // path answering 200 when the server is up
	stopped sync.Once
	// killedAtKB is the resident set at which the watchdog killed the
	// server, 0 while it has not.
	killedAtKB atomic.Int64
}

// startBenchServer starts the target on the catalog at roots, on the
// PostgreSQL database dsn when not empty.
func startBenchServer(o *catalogBenchOptions, dir string, roots []string, dsn string) (*benchServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &benchServer{base: "http://127.0.0.1:" + strconv.Itoa(port), log: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	switch o.target {
	case "greenroom":
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		// Backstage's default catalog.rules admit only Component, API and
		// Location from configured locations; allow every generated kind, as
		// bench/backstage/app-config.yaml does.
		// techdocs.builder external, as for a Backstage whose CI publishes
		// docs: half the generated entities carry a techdocs-ref that
		// cannot be built, and their build jobs would run in the
		// background of the whole load. catalog.processingInterval 30
		// minutes, as bench/backstage/app-config.yaml has, so that a
		// scheduled full refresh (every 60 s by default: re-reading a
		// 100k-entity source costs tens of CPU seconds) does not land in
		// the middle of a load class.
		cfg := fmt.Sprintf("techdocs:\n  builder: external\ncatalog:\n  processingInterval: { minutes: 30 }\n  rules:\n    - allow: [%s, Location]\n  locations:\n", strings.Join(catalogtest.Kinds, ", "))
		for _, root := range roots {
			cfg += fmt.Sprintf("    - type: file\n      target: %q\n", root)
		}
		if dsn != "" {
			cfg += fmt.Sprintf("backend:\n  database:\n    client: pg\n    connection: %q\n", dsn)
		}
		cfgPath := filepath.Join(dir, "app-config.yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		s.cmd = exec.Command(exe, "--config", cfgPath, "serve", "--no-demo",
			"--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:"+strconv.Itoa(port))
		s.cmd.Dir = dir
		if o.readCacheBytes != 0 {
			s.cmd.Env = append(os.Environ(), readCacheEnv+"="+strconv.FormatInt(o.readCacheBytes, 10))
		}
		s.ready = "/readyz"
	case "backstage":
		bdir, err := filepath.Abs(o.backstageDir)
		if err != nil {
			return nil, err
		}
		for _, need := range []string{"index.js", "app-config.yaml", "node_modules/@backstage/plugin-catalog-backend"} {
			if _, err := os.Stat(filepath.Join(bdir, need)); err != nil {
				return nil, fmt.Errorf("backstage backend: %s is missing (run `npm ci --prefix %s` first): %w", need, o.backstageDir, err)
			}
		}
		s.cmd = exec.Command("node", "index.js", "--config", "app-config.yaml")
		s.cmd.Dir = bdir
		s.cmd.Env = append(os.Environ(), "NODE_ENV=production", "BENCH_PORT="+strconv.Itoa(port),
			"BENCH_PG_CONNECTION="+dsn, "BENCH_CATALOG_FILE="+roots[0])
		s.ready = "/.backstage/health/v1/readiness"
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.begin = time.Now()
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", o.target, err)
	}
	go func() {
		_ = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	go s.watch(o.maxRSSMB)
	return s, nil
}

// watch kills the server when its resident set grows past maxMB.
func (s *benchServer) watch(maxMB int) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return
		case <-tick.C:
			if kb, err := procStatusKB(s.cmd.Process.Pid, "VmRSS"); err == nil && kb > maxMB*1024 {
				s.killedAtKB.Store(int64(kb))
				_ = s.cmd.Process.Kill()
				return
			}
		}
	}
}

// cpuSeconds is the server process's CPU time so far, 0 when unknown.
func (s *benchServer) cpuSeconds() float64 {
	if s.cmd == nil {
		return 0
	}
	cpu, _ := procCPUSeconds(s.cmd.Process.Pid)
	return cpu
}

// stop ends the child with SIGTERM, and SIGKILL when it lingers.
func (s *benchServer) stop() {
	if s.cmd == nil {
		return
	}
	s.stopped.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// alive returns an error with the tail of the server's output when it
// has exited.
func (s *benchServer) alive() error {
	if s.cmd == nil {
		return nil // a server this run did not start
	}
	select {
	case <-s.exited:
		if kb := s.killedAtKB.Load(); kb > 0 {
			return fmt.Errorf("the server was killed when its RSS reached %.0f MB, over --max-rss", float64(kb)/1024)
		}
		return fmt.Errorf("the server exited early; the end of its output:\n%s", tail(s.log, 4096))
	default:
		return nil
	}
}

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return string(b)
}

// awaitCatalog waits for the server to be ready, then for all n generated
// entities to be counted by /entities/by-query, and records both times.
func (s *benchServer) awaitCatalog(ctx context.Context, c *http.Client, n int, timeout time.Duration, progress io.Writer, rep *catalogReport) error {
	deadline := s.begin.Add(timeout)
	var ready time.Duration
	lastNote, seen := time.Now(), -1
	countURL := s.base + "/api/catalog/entities/by-query?" + generatedKindsQuery()
	for {
		if err := s.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d entities queryable after %s; the end of the server's output:\n%s", max(seen, 0), n, timeout, tail(s.log, 4096))
		}
		if ready == 0 && get(c, s.base+s.ready) == http.StatusOK {
			ready = time.Since(s.begin)
			rep.ReadySeconds = ready.Seconds()
			fmt.Fprintf(progress, "ready after %.2f s; ingesting\n", ready.Seconds())
		}
		var polled time.Duration
		if ready != 0 {
			t0 := time.Now()
			got, err := totalItems(ctx, c, countURL)
			polled = time.Since(t0)
			if err == nil && got >= n {
				visible := time.Since(s.begin)
				rep.VisibleSeconds, rep.AfterReadySeconds = visible.Seconds(), (visible - ready).Seconds()
				rep.EntitiesPerSecond = float64(n) / visible.Seconds()
				rep.IngestCPUSeconds = s.cpuSeconds()
				fmt.Fprintf(progress, "all %d entities queryable after %.2f s\n", n, visible.Seconds())
				return nil
			}
			if err == nil {
				seen = got
			}
			if time.Since(lastNote) >= 10*time.Second {
				fmt.Fprintf(progress, "%6.0f s: %d of %d entities queryable\n", time.Since(s.begin).Seconds(), max(seen, 0), n)
				lastNote = time.Now()
			}
		}
		// Poll often early, when the figure is small, and less later; and
		// at most a fifth of the time (up to 30 s apart), so that polling
		// does not load a slow ingest: counting a million entities while
		// they are being written takes PostgreSQL seconds.
		wait := max(min(time.Second, max(20*time.Millisecond, time.Since(s.begin)/100)), min(4*polled, 30*time.Second))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// generatedKindsQuery selects every generated entity and nothing else
// (not the Location entities each server adds): repeated filter
// parameters are alternatives.
func generatedKindsQuery() string {
	v := url.Values{"limit": {"1"}}
	for _, k := range catalogtest.Kinds {
		v.Add("filter", "kind="+strings.ToLower(k))
	}
	return v.Encode()
}

func totalItems(ctx context.Context, c *http.Client, u string) (int, error) {
	var page struct {
		TotalItems *int `json:"totalItems"`
	}
	if err := fetchJSON(ctx, c, u, &page); err != nil {
		return 0, err
	}
	if page.TotalItems == nil {
		return 0, errors.New("by-query answered without totalItems")
	}
	return *page.TotalItems, nil
}

func fetchJSON(ctx context.Context, c *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

func writeCatalogReport(w io.Writer, format string, rep *catalogReport) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "%s on %s: %d entities", rep.Target, rep.Store, rep.Entities)
	if rep.Files > 0 {
		fmt.Fprintf(w, " in %d files (%.1f MB) behind %d location(s)", rep.Files, float64(rep.CatalogBytes)/(1<<20), rep.Locations)
	}
	fmt.Fprintf(w, "; concurrency %d; %d CPUs, load average %s\n", rep.Concurrency, rep.CPUs, rep.LoadAverage)
	if rep.VisibleSeconds > 0 {
		fmt.Fprintf(w, "ingest: ready %.2f s after start; all queryable %.2f s after start (%.2f s after ready), %.0f entities/s; server CPU %.1f s\n",
			rep.ReadySeconds, rep.VisibleSeconds, rep.AfterReadySeconds, rep.EntitiesPerSecond, rep.IngestCPUSeconds)
		if rep.VacuumSeconds > 0 {
			fmt.Fprintf(w, "then VACUUM ANALYZE: %.1f s\n", rep.VacuumSeconds)
		}
	}
	if rep.Unsettled {
		fmt.Fprintf(w, "the server was still busy after %.0f s of waiting: the figures below include its background work\n", rep.SettleSeconds)
	}
	fmt.Fprintf(w, "\n%-64s %9s %6s %8s %8s %8s %8s %s\n", "requests", "count", "errors", "req/s", "p50 ms", "p99 ms", "max ms", "CPU per request: server, bench")
	for _, c := range rep.Cases {
		name, cpu := c.Class, ""
		if c.Name != "" {
			name = "  " + c.Name
		}
		if c.Name == "" {
			cpu = fmt.Sprintf("%.2f ms, %.2f ms", c.ServerCPUms, c.ClientCPUms)
		}
		if c.CacheHitRate != nil {
			cpu += fmt.Sprintf("; cache hits %.0f %%", 100**c.CacheHitRate)
		}
		fmt.Fprintf(w, "%-64s %9d %6d %8.0f %8.2f %8.2f %8.2f %s\n", name, c.Requests, c.Errors, c.PerSec, c.P50, c.P99, c.Max, cpu)
	}
	if rep.PeakRSSMB > 0 {
		fmt.Fprintf(w, "\npeak RSS (VmHWM) %.1f MB; RSS at the end %.1f MB (%.1f MB of it file-backed)\n", rep.PeakRSSMB, rep.EndRSSMB, rep.EndRSSFileMB)
	}
	return nil
}

// procStatusKB reads a kB field of /proc/PID/status (Linux), such as
// VmHWM, the peak resident set size.
func procStatusKB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) >= 1 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// procCPUSeconds reads the user and system CPU time of a process from
// /proc/PID/stat (Linux, whose clock tick for it is always 1/100 s).
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64) // field 14
	stime, err2 := strconv.ParseFloat(f[12], 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return (utime + stime) / 100, nil
}

// postgresCPU returns the CPU seconds of each PostgreSQL process on this
// machine by pid (none when the database runs elsewhere).
func postgresCPU() map[int]float64 {
	out := map[int]float64{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if cpu, err := procCPUSeconds(pid); err == nil {
			out[pid] = cpu
		}
	}
	return out
}

// cpuSince sums what each process of now used since before (all of it for
// a process started since); processes that ended in between are not seen.
func cpuSince(before, now map[int]float64) float64 {
	sum := 0.0
	for pid, c := range now {
		sum += c - before[pid]
	}
	return sum
}

// vacuumAnalyze runs VACUUM ANALYZE on the database of dsn.
func vacuumAnalyze(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	return nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
