package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/techdocs"
)

func newDocsServeCmd() *cobra.Command {
	var addr, configFile string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "serve DIR",
		Short: "Preview the MkDocs project in DIR with live reload, like mkdocs serve",
		Long: `Build the project in DIR, serve the site on --addr and rebuild whenever a file
of the project changes; open pages reload by themselves. Warnings are printed
after each build.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return exitf(1, "listen %s: %v", addr, err)
			}
			p := newPreview(args[0], configFile, cmd.OutOrStdout(), cmd.ErrOrStderr())
			defer p.close()
			if err := p.rebuild(cmd.Context()); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "ERROR", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Serving %s on http://%s/ (Ctrl-C to stop)\n", args[0], ln.Addr())
			srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
			go p.watch(cmd.Context(), interval)
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return exitf(1, "%v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&addr, "addr", "a", "127.0.0.1:8000", "address to listen on")
	cmd.Flags().StringVarP(&configFile, "config-file", "f", "", "the MkDocs configuration file in DIR (default mkdocs.yml)")
	cmd.Flags().DurationVar(&interval, "poll", 300*time.Millisecond, "how often to look for changed files")
	return cmd
}

// preview is the live-reload server of docs serve: it builds into a
// temporary directory, serves it, and tells open pages (over an event
// stream) to reload after each rebuild.
type preview struct {
	src, configFile string
	out, errw       io.Writer
	mu              sync.Mutex
	site            string // current build
	gen             int
	waiters         []chan struct{}
	tmp             string
	siteB           *techdocs.Site
}

func newPreview(src, configFile string, out, errw io.Writer) *preview {
	tmp, _ := os.MkdirTemp("", "greenroom-docs-serve-")
	return &preview{src: src, configFile: configFile, out: out, errw: errw, tmp: tmp}
}

func (p *preview) close() { os.RemoveAll(p.tmp) }

func (p *preview) rebuild(ctx context.Context) error {
	if p.siteB == nil {
		p.siteB = techdocs.NewSite(p.src, filepath.Join(p.tmp, "site"), techdocs.Options{ConfigFile: p.configFile, Env: os.LookupEnv, Overwrite: true})
	}
	res, pages, err := p.siteB.Rebuild(ctx)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), techdocs.ErrInvalid.Error()+": "))
	}
	printWarnings(p.errw, res.Warnings)
	if pages == nil {
		fmt.Fprintf(p.out, "Built %d pages in %s\n", len(res.Pages), res.Duration.Round(time.Millisecond))
	} else {
		fmt.Fprintf(p.out, "Rebuilt %s in %s\n", strings.Join(pages, ", "), res.Duration.Round(time.Millisecond))
	}
	p.mu.Lock()
	p.site, p.gen = filepath.Join(p.tmp, "site"), p.gen+1
	for _, w := range p.waiters {
		close(w)
	}
	p.waiters = nil
	p.mu.Unlock()
	return nil
}

func (p *preview) watch(ctx context.Context, interval time.Duration) {
	last := projectStamp(p.src)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s := projectStamp(p.src); s != last {
			last = s
			if err := p.rebuild(ctx); err != nil {
				fmt.Fprintln(p.errw, "ERROR", err)
			}
		}
	}
}

// projectStamp changes when a file of the project changes.
func projectStamp(dir string) string {
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != dir {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			fmt.Fprintf(&b, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}

const reloadScript = `(function(){var g=null;var es=new EventSource("/__greenroom/events");` +
	`es.addEventListener("build",function(e){if(g!==null&&e.data!==g){location.reload();}g=e.data;});})();`

func (p *preview) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/__greenroom/reload.js":
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, reloadScript)
		return
	case "/__greenroom/events":
		p.events(w, r)
		return
	}
	p.mu.Lock()
	site := p.site
	p.mu.Unlock()
	if site == "" {
		http.Error(w, "the project did not build; see the terminal", http.StatusServiceUnavailable)
		return
	}
	name := filepath.Join(site, filepath.FromSlash(strings.TrimPrefix(pathClean(r.URL.Path), "/")))
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		name = filepath.Join(name, "index.html")
	}
	if strings.HasSuffix(name, ".html") {
		data, err := os.ReadFile(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		page := strings.Replace(string(data), "</body>", `<script src="/__greenroom/reload.js"></script></body>`, 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, page)
		return
	}
	http.ServeFile(w, r, name)
}

func pathClean(p string) string {
	p = filepath.ToSlash(filepath.Clean("/" + p))
	return p
}

// events streams the build generation; a page reloads when it changes.
func (p *preview) events(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	for {
		p.mu.Lock()
		gen := p.gen
		ch := make(chan struct{})
		p.waiters = append(p.waiters, ch)
		p.mu.Unlock()
		fmt.Fprintf(w, "event: build\ndata: %d\n\n", gen)
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
}
