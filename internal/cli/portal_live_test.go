package cli

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"greenroom/internal/web"
)

// TestLiveStreamServe: a live-update stream through the whole server
// (middleware included) is streamed uncompressed without the request
// timeout, and an open stream does not hold up shutdown.
func TestLiveStreamServe(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	cfg := writeConfig(t, work, "greenroom:\n  server:\n    requestTimeout: 1s\n")
	p := serve(t, work, nil, "--config", cfg)
	req, err := http.NewRequest(http.MethodGet, p.base+web.LivePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the client then does not decompress
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("stream: %d %q, encoding %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"))
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "retry:") {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing streamed within 5s")
	}
	// Longer than the request timeout: the stream stays open.
	time.Sleep(1500 * time.Millisecond)
	select {
	case _, ok := <-lines:
		if !ok {
			t.Fatal("the request timeout ended the stream")
		}
	default:
	}
	start := time.Now()
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v with a stream open", d)
	}
	for range lines { // the stream ended with the server
	}
}
