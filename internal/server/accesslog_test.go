package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestAccessLogLine pins the access log's line: its attributes in order,
// their values, and the level by status, in both handler formats.
func TestAccessLogLine(t *testing.T) {
	tests := []struct {
		name, path, level, route, status string
		proxied                          bool
	}{
		{name: "matched", path: "/items/7", level: "INFO", route: "GET /items/{id}", status: "200"},
		{name: "unmatched", path: "/nowhere", level: "INFO", route: "unmatched", status: "404"},
		{name: "panic", path: "/panic", level: "ERROR", route: "unmatched", status: "500"}, // the panic skips the route capture
		{name: "forwarded", path: "/small", level: "INFO", route: "GET /small", status: "200", proxied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var text, js bytes.Buffer
			for _, lg := range []*slog.Logger{slog.New(slog.NewTextHandler(&text, nil)), slog.New(slog.NewJSONHandler(&js, nil))} {
				opts := Options{Logger: lg.With("component", "http"), Registerer: prometheus.NewRegistry()}
				if tt.proxied {
					opts.TrustProxy = TrustProxy{All: true}
				}
				h := New(testRoutes(), opts).Handler()
				req := httptest.NewRequest("GET", tt.path, nil)
				req.RemoteAddr = "10.0.0.1:1234"
				req.Header.Set(RequestIDHeader, "req-42")
				if tt.proxied {
					req.Header.Set("X-Forwarded-For", "192.0.2.9")
				}
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
			line := lastLine(text.String(), "http request")
			remote, peer := "10.0.0.1:1234", ""
			if tt.proxied {
				remote, peer = "192.0.2.9:0", " peer=10.0.0.1:1234"
			}
			want := regexp.MustCompile(`^time=\S+ level=` + tt.level + ` msg="http request" component=http request_id=req-42 method=GET path=` +
				regexp.QuoteMeta(tt.path) + ` route="?` + regexp.QuoteMeta(tt.route) + `"? status=` + tt.status + ` bytes=\d+ duration=\S+ remote=` +
				regexp.QuoteMeta(remote) + regexp.QuoteMeta(peer) + `$`)
			if !want.MatchString(line) {
				t.Errorf("text line\n %s\ndoes not match\n %s", line, want)
			}
			var keys []string
			dec := json.NewDecoder(strings.NewReader(lastLine(js.String(), "http request")))
			dec.Token()
			for dec.More() {
				k, _ := dec.Token()
				keys = append(keys, k.(string))
				var v any
				dec.Decode(&v)
			}
			wantKeys := "time level msg component request_id method path route status bytes duration remote"
			if tt.proxied {
				wantKeys += " peer"
			}
			if got := strings.Join(keys, " "); got != wantKeys {
				t.Errorf("JSON keys %q, want %q", got, wantKeys)
			}
		})
	}
}

func lastLine(logs, msg string) string {
	var last string
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.Contains(l, msg) {
			last = l
		}
	}
	return last
}
