package cli

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// backend.trustProxy reaches the server: a request forwarded by a trusted
// (loopback) proxy is logged with the client's address and the proxy's.
func TestServeTrustProxy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "greenroom:\n  demo: false\nbackend:\n  trustProxy: loopback\n")
	p := serve(t, dir, nil, "--config", cfg)
	req, err := http.NewRequest("GET", p.base+"/api/catalog/entities?limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", "198.51.100.23")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := p.stderr.String()
		if strings.Contains(log, "198.51.100.23") && strings.Contains(log, "peer") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("forwarded client not in the access log:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
