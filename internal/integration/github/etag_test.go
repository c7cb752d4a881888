package github

import (
	"strings"
	"testing"
)

func TestETagCacheBounds(t *testing.T) {
	c := newETagCache(3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		c.put(&cached{key: k, etag: `"` + k + `"`, body: []byte(k)})
	}
	if _, ok := c.get("a"); !ok { // a becomes most recent
		t.Fatal("a missing")
	}
	c.put(&cached{key: "d", etag: `"d"`})
	if _, ok := c.get("b"); ok {
		t.Error("b, least recently used, was not evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}

	small := newETagCache(100, 16*1024)
	small.put(&cached{key: "huge", etag: "x", body: []byte(strings.Repeat("x", 2000))})
	if _, ok := small.get("huge"); ok {
		t.Error("an entry over a sixteenth of the cache was kept")
	}
	for i := range 30 {
		small.put(&cached{key: strings.Repeat("k", i+1), etag: "x", body: []byte(strings.Repeat("y", 800))})
	}
	if small.bytes > 16*1024 || small.len() == 0 {
		t.Errorf("bytes = %d over the bound, %d entries", small.bytes, small.len())
	}
	small.drop("k")
	if newETagCache(-1, 0) != nil {
		t.Error("negative entries must disable the cache")
	}
}
