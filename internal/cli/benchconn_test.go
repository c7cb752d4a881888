package cli

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoadConn checks the load's HTTP/1.1 client against net/http's
// server: each body framing, statuses, the cache header, and keep-alive
// (one connection for every request unless the server closes it).
func TestLoadConn(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 5000) // 80 kB: chunked, several chunks
	mux := http.NewServeMux()
	mux.HandleFunc("GET /length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Greenroom-Cache", "hit")
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Greenroom-Cache", "miss")
		io.WriteString(w, big[:40000])
		w.(http.Flusher).Flush()
		io.WriteString(w, big[40000:])
	})
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("GET /query", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("q")+" "+r.Host+" "+r.Header.Get("User-Agent"))
	})
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	lc, ok := newLoadConn(srv.URL, 10*time.Second)
	if !ok {
		t.Fatalf("newLoadConn(%q) refused", srv.URL)
	}
	defer lc.close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		path, body string
		cache      cacheAnswer
		err        string
		dials      int32 // connections opened so far, after the request
	}{
		{path: "/length", body: "hello", cache: cacheHit, dials: 1},
		{path: "/chunked", body: big, cache: cacheMiss, dials: 1},
		{path: "/empty", body: "", dials: 1},
		{path: "/query?q=a%20b", body: "a b " + host + " greenroom-bench", dials: 1},
		{path: "/missing", err: "GET /missing: 404 Not Found: 404 page not found", dials: 1},
		{path: "/length", body: "hello", cache: cacheHit, dials: 1}, // a 404 keeps the connection
		{path: "/close", body: "bye", dials: 1},
		{path: "/length", body: "hello", cache: cacheHit, dials: 2}, // redialled after the close
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		cache, err := lc.get(t.Context(), tt.path, &buf)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("GET %s: error %v, want %q", tt.path, err, tt.err)
			}
		case err != nil:
			t.Errorf("GET %s: %v", tt.path, err)
		case buf.String() != tt.body || cache != tt.cache:
			t.Errorf("GET %s: body %.40q (%d bytes), cache %d; want %.40q (%d bytes), cache %d", tt.path, buf.String(), buf.Len(), cache, tt.body, len(tt.body), tt.cache)
		}
		if got := conns.Load(); got != tt.dials {
			t.Errorf("after GET %s: %d connections, want %d", tt.path, got, tt.dials)
		}
	}
	// A kept-alive connection the server closed meanwhile is retried
	// once, on a new one.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if _, err := lc.get(t.Context(), "/length", io.Discard); err != nil {
		t.Errorf("after the server closed the connection: %v", err)
	}
	if got := conns.Load(); got != 3 {
		t.Errorf("%d connections after the server closed one, want 3", got)
	}
	if _, ok := newLoadConn("https://example.com", time.Second); ok {
		t.Error("newLoadConn accepted an https base")
	}
}
