package cli

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPprofListenerLoopbackOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))

	t.Setenv(envPprof, "0.0.0.0:6060")
	startPprof(t.Context(), logger)
	if !strings.Contains(logged.String(), "refused") {
		t.Fatalf("a non-loopback address was not refused:\n%s", logged.String())
	}

	t.Setenv(envPprof, addr)
	startPprof(t.Context(), logger)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("pprof heap: %d", resp.StatusCode)
			}
			resp, err = http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(text), "# HeapInuse = ") {
				t.Fatalf("heap?debug=1 has no MemStats:\n%.300s", text)
			}
			resp, err = http.Get("http://" + addr + "/debug/pprof/trace?seconds=1")
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// An execution trace starts with its format's magic.
			if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(tr, []byte("go 1.")) {
				t.Fatalf("trace: %d, %.40q", resp.StatusCode, tr)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("profiling listener not up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
