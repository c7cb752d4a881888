package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"greenroom/examples"
	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/jobs"
	"greenroom/internal/server"
	"greenroom/internal/store"
	"greenroom/internal/web"
)

type serveFlags struct {
	dataDir string
	noDemo  bool
	listen  string
}

func newServeCmd(g *globalFlags) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the portal: web UI, APIs and background work",
		Long: `Run the portal. With no configuration it listens on http://localhost:7007,
keeps its data in ./.greenroom (embedded SQLite) and loads the demo company.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), g, f, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "directory for the embedded store and local files (default ./.greenroom, or greenroom.dataDir)")
	cmd.Flags().BoolVar(&f.noDemo, "no-demo", false, "do not load the bundled demo company")
	cmd.Flags().StringVar(&f.listen, "listen", "", "address to listen on, host:port (overrides backend.listen)")
	return cmd
}

// app is everything serve wires together.
type app struct {
	logger  *slog.Logger
	store   *store.Store
	pool    *jobs.Pool
	catalog *catalog.Service
	// discovery runs the entity providers of catalog.providers.
	discovery *discovery
	server    *server.Server
	ready     func(context.Context) error
	// onStart are the features' background starts (see features.go).
	onStart []func(context.Context)
	// reload applies configuration changes while serving (reload.go).
	reload *reloader
}

func runServe(ctx context.Context, g *globalFlags, f *serveFlags, stderr io.Writer) error {
	start := time.Now()
	cfg, _, err := loadConfig(g, stderr, false)
	if err != nil {
		return err
	}
	logger, closeLog, err := newServeLogger(stderr, cfg.Greenroom.Log.Format, cfg.Greenroom.Log.Level)
	if err != nil {
		return exitf(2, "config: %v", err)
	}
	defer closeLog() // first deferred, so it runs last: every line is out before serve returns
	applyMemoryLimit(cfg.Greenroom.Server.MemoryLimitBytes, logger)
	addr := listenAddr(cfg, f.listen)
	// Bind before opening the store so a taken port fails fast and a second
	// process never touches the data dir.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return exitf(1, "listen on %s: %v", addr, err)
	}
	defer ln.Close()

	a, err := buildApp(ctx, cfg, f, logger)
	if err != nil {
		return exitf(1, "%s", oneLine(err))
	}
	defer a.store.Close()

	a.pool.Start(ctx)
	if err := a.catalog.RequestRefresh(ctx, ""); err != nil {
		logger.Warn("initial catalog refresh not queued", "err", err)
	}
	if err := a.catalog.ScheduleRefresh(ctx); err != nil {
		logger.Warn("scheduled catalog refresh not queued", "err", err)
	}
	a.discovery.Start(ctx)
	for _, start := range a.onStart {
		start(ctx)
	}
	startReload(ctx, a)
	startPprof(ctx, logger)
	go releaseStartupMemory(ctx, logger)
	logger.Info("greenroom started", "url", "http://"+displayAddr(ln.Addr()), "database", a.store.Driver(),
		"startup", time.Since(start).Round(time.Millisecond), "version", version)

	serveErr := a.server.Serve(ctx, ln)
	logger.Info("shutting down", "reason", context.Cause(ctx))
	jctx, cancel := context.WithTimeout(context.Background(), cfg.Greenroom.Server.ShutdownTimeout)
	defer cancel()
	if err := a.pool.Shutdown(jctx); err != nil {
		logger.Warn("jobs still running at shutdown deadline; they will be retried", "err", err)
	}
	if serveErr != nil {
		return exitf(1, "%v", serveErr)
	}
	logger.Info("stopped")
	return nil
}

func buildApp(ctx context.Context, cfg *config.Config, f *serveFlags, logger *slog.Logger) (*app, error) {
	dataDir := cfg.Greenroom.DataDir
	if f.dataDir != "" {
		dataDir = f.dataDir
	}
	st, err := openStore(ctx, cfg, dataDir, logger)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(st.DB(), "read"))
	if w := st.WriteDB(); w != st.DB() {
		reg.MustRegister(collectors.NewDBStatsCollector(w, "write"))
	}

	pool := jobs.New(st, jobs.Options{Logger: logger.With("component", "jobs"), Registerer: reg})
	locations, err := catalogLocations(cfg, f.noDemo)
	if err != nil {
		st.Close()
		return nil, err
	}
	cat, err := newCatalog(cfg, st, pool, locations, logger, reg)
	if err != nil {
		st.Close()
		return nil, err
	}
	relayCatalogEvents(ctx, cat, st, reg)
	disc, err := newDiscovery(cfg, st, pool, cat, dataDir, logger)
	if err != nil {
		st.Close()
		return nil, err
	}

	pages, err := web.New(cfg.App.Title, cat, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := pages.Watch(ctx); err != nil { // recent changes on the home page, fresh facet counts
		logger.Warn("portal does not follow catalog changes", "err", err)
	}
	a := &app{logger: logger, store: st, pool: pool, catalog: cat, discovery: disc}
	a.ready = func(ctx context.Context) error { return readiness(ctx, st) }

	mux := http.NewServeMux()
	api.New(cat, logger).Routes(mux)
	api.NewPush(cat, cfg.Backend.Auth.ExternalAccess, logger).Routes(mux)
	disc.Routes(mux)
	pages.ProviderPages(disc.statuses).Routes(mux)
	pages.Routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.Handle("GET /readyz", readyHandler(a.ready))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	env := &wireEnv{cfg: cfg, store: st, pool: pool, catalog: cat, pages: pages, mux: mux, logger: logger, reg: reg, dataDir: dataDir}
	if err := env.wireFeatures(ctx); err != nil {
		st.Close()
		return nil, err
	}
	a.onStart = env.onStart
	if env.permission != nil {
		a.reload = newReloader(config.LoadOptions{Files: cfg.Files(), Environ: os.Environ()}, cfg, env.permission, st, logger)
	}

	errs := api.ErrorWriter{Logger: logger}
	a.server = server.New(mux, server.Options{
		Logger:          logger.With("component", "http"),
		RequestTimeout:  cfg.Greenroom.Server.RequestTimeout,
		ShutdownTimeout: cfg.Greenroom.Server.ShutdownTimeout,
		MaxBodyBytes:    cfg.Greenroom.Server.MaxBodyBytes,
		Registerer:      reg,
		OnError:         errs.Write,
		StreamPrefixes:  []string{"/api/events/stream", "/ws", "/api/scaffolder/v2/tasks/", "/api/techdocs/sync/"},
		Middleware:      env.middleware,
		TrustProxy:      server.TrustProxy(cfg.Backend.TrustProxy),
	})
	return a, nil
}

func openStore(ctx context.Context, cfg *config.Config, dataDir string, logger *slog.Logger) (*store.Store, error) {
	opts := store.Options{
		Driver:         cfg.Backend.Database.Driver(),
		Logger:         logger.With("component", "store"),
		ConnectTimeout: cfg.Greenroom.Database.ConnectTimeout,
	}
	if opts.Driver == "postgres" {
		opts.DSN = cfg.Backend.Database.PostgresDSN()
	} else {
		opts.SQLitePath = cfg.Backend.Database.SQLitePath(dataDir)
	}
	return store.Open(ctx, opts)
}

// catalogLocations turns catalog.locations into readers, adding the demo
// company when no location is configured (or greenroom.demo says so).
func catalogLocations(cfg *config.Config, noDemo bool) ([]catalog.Source, error) {
	var out []catalog.Source
	for i, l := range cfg.Catalog.Locations {
		// A location's own rules add to catalog.rules (see catalogRules),
		// as in Backstage; they do not restrict the location.
		switch l.Type {
		case "file":
			loc, err := catalog.FileSource(l.Path, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, loc)
		case "url":
			loc, err := catalog.URLSource(l.Target, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, loc)
		default:
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "catalog.locations[%d]: type %q is not supported; use file or url", i, l.Type)
		}
	}
	if cfg.DemoEnabled() && !noDemo {
		out = append(out, catalog.Source{Name: "demo", FS: examples.FS, Root: examples.Root})
	}
	return out, nil
}

func readiness(ctx context.Context, st *store.Store) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	applied, latest, err := st.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if applied != latest {
		return fmt.Errorf("migrations: %d of %d applied", applied, latest)
	}
	return nil
}

func readyHandler(ready func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"status":"unavailable","error":%q}`+"\n", err.Error())
			return
		}
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
}

func listenAddr(cfg *config.Config, override string) string {
	if override != "" {
		return override
	}
	return cfg.Backend.Listen.Addr()
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
		}
	}
	return a.String()
}

// oneLine keeps the user-facing part of a start-up error on one line.
func oneLine(err error) string {
	var ge *greenroom.Error
	if errors.As(err, &ge) && ge.Message != "" {
		return ge.Message
	}
	return err.Error()
}
