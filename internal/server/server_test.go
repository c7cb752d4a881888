package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"`+r.PathValue("id")+`","pad":"`+strings.Repeat("x", 4096)+`"}`)
	})
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			DefaultErrorWriter(w, r, err)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) {
		dl, ok := r.Context().Deadline()
		if !ok || time.Until(dl) > time.Second {
			http.Error(w, "no deadline", 500)
			return
		}
		io.WriteString(w, "bounded")
	})
	return mux
}

func newTest(t *testing.T, reg prometheus.Registerer) (*Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s := New(testRoutes(), Options{
		Logger:         slog.New(slog.NewJSONHandler(&logs, nil)),
		RequestTimeout: 500 * time.Millisecond,
		MaxBodyBytes:   64,
		Registerer:     reg,
	})
	return s, &logs
}

func do(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, logs := newTest(t, reg)
	h := s.Handler()

	t.Run("request id generated and echoed", func(t *testing.T) {
		rec := do(t, h, httptest.NewRequest("GET", "/small", nil))
		if id := rec.Header().Get(RequestIDHeader); len(id) != 24 {
			t.Errorf("request id = %q, want 24 hex chars", id)
		}
		req := httptest.NewRequest("GET", "/small", nil)
		req.Header.Set(RequestIDHeader, "abc-123")
		if id := do(t, h, req).Header().Get(RequestIDHeader); id != "abc-123" {
			t.Errorf("client id not kept: %q", id)
		}
		req.Header.Set(RequestIDHeader, "bad id\n")
		if id := do(t, h, req).Header().Get(RequestIDHeader); id == "bad id\n" {
			t.Error("unprintable client id was accepted")
		}
	})

	t.Run("gzip large json, not small", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/items/7", nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate")
		rec := do(t, h, req)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("large response not compressed: %v", rec.Header())
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		if !strings.HasPrefix(string(body), `{"id":"7"`) {
			t.Errorf("decompressed body = %.40q", body)
		}
		req = httptest.NewRequest("GET", "/small", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if rec := do(t, h, req); rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "ok" {
			t.Errorf("small response altered: %v %q", rec.Header(), rec.Body)
		}
		req = httptest.NewRequest("GET", "/items/7", nil)
		req.Header.Set("Accept-Encoding", "gzip;q=0")
		if rec := do(t, h, req); rec.Header().Get("Content-Encoding") != "" {
			t.Error("gzip;q=0 must disable compression")
		}
	})

	t.Run("panic becomes 500 with request id, logged with stack", func(t *testing.T) {
		rec := do(t, h, httptest.NewRequest("GET", "/panic", nil))
		if rec.Code != 500 {
			t.Fatalf("status = %d", rec.Code)
		}
		id := rec.Header().Get(RequestIDHeader)
		if !strings.Contains(rec.Body.String(), id) {
			t.Errorf("body %q lacks request id %s", rec.Body, id)
		}
		if !strings.Contains(logs.String(), `"msg":"handler panic"`) || !strings.Contains(logs.String(), "goroutine") {
			t.Error("panic not logged with stack")
		}
	})

	t.Run("body limit", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/echo", strings.NewReader(strings.Repeat("a", 65)))
		if rec := do(t, h, req); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("declared oversize: status %d", rec.Code)
		}
		// Unknown length: the limit bites while reading.
		req = httptest.NewRequest("POST", "/echo", io.MultiReader(strings.NewReader(strings.Repeat("a", 100))))
		req.ContentLength = -1
		if rec := do(t, h, req); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("streamed oversize: status %d", rec.Code)
		}
		req = httptest.NewRequest("POST", "/echo", strings.NewReader("hello"))
		if rec := do(t, h, req); rec.Code != 200 || rec.Body.String() != "hello" {
			t.Errorf("small body: %d %q", rec.Code, rec.Body)
		}
	})

	t.Run("handlers get a deadline", func(t *testing.T) {
		if rec := do(t, h, httptest.NewRequest("GET", "/deadline", nil)); rec.Body.String() != "bounded" {
			t.Errorf("got %q", rec.Body)
		}
	})

	t.Run("metrics by route pattern", func(t *testing.T) {
		do(t, h, httptest.NewRequest("GET", "/items/1", nil))
		do(t, h, httptest.NewRequest("GET", "/items/2", nil))
		do(t, h, httptest.NewRequest("GET", "/nowhere", nil))
		n, err := testutil.GatherAndCount(reg, "greenroom_http_request_duration_seconds")
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no latency series")
		}
		mfs, _ := reg.Gather()
		var routes []string
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "route" {
						routes = append(routes, l.GetValue())
					}
				}
			}
		}
		joined := strings.Join(routes, " ")
		if !strings.Contains(joined, "GET /items/{id}") || strings.Contains(joined, "/items/1") || !strings.Contains(joined, "unmatched") {
			t.Errorf("route labels = %v", routes)
		}
	})

	t.Run("access log line", func(t *testing.T) {
		if !strings.Contains(logs.String(), `"route":"GET /items/{id}"`) || !strings.Contains(logs.String(), `"status":200`) {
			t.Errorf("access log lacks route/status: %.300s", logs.String())
		}
	})
}

// TestGracefulShutdown shows that a request in flight when shutdown starts
// is completed and acknowledged, and that new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	var finished atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
		io.WriteString(w, "done")
	})
	s := New(mux, Options{ShutdownTimeout: 5 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String()
	resc := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			resc <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		resc <- string(b)
	}()
	<-started
	cancel()
	if got := <-resc; got != "done" {
		t.Fatalf("in-flight request got %q, want done", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if !finished.Load() {
		t.Error("handler did not finish")
	}
	if _, err := http.Get(url + "/slow"); err == nil {
		t.Error("server still accepts after shutdown")
	}
}

func TestShutdownDeadline(t *testing.T) {
	mux := http.NewServeMux()
	started := make(chan struct{})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	s := New(mux, Options{ShutdownTimeout: 100 * time.Millisecond, RequestTimeout: time.Minute})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go http.Get("http://" + ln.Addr().String() + "/hang")
	<-started
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v, want deadline exceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the shutdown deadline")
	}
}

// A stream prefix is exempt from the request deadline; other paths get it.
func TestStreamPrefixesHaveNoDeadline(t *testing.T) {
	var bounded []bool
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Deadline()
		bounded = append(bounded, ok)
	}), Options{Logger: slog.New(slog.DiscardHandler), RequestTimeout: time.Minute,
		StreamPrefixes: []string{"/api/events"}}).Handler()
	for _, path := range []string{"/api/events/stream", "/api/catalog/entities"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	if want := []bool{false, true}; !slices.Equal(bounded, want) {
		t.Errorf("deadline set per path = %v, want %v", bounded, want)
	}
}
