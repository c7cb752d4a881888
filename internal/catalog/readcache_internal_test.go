package catalog

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/fastcache"
)

// TestReadCacheBoundedOffHeap: whatever is put, the cache's chunks stay
// within its bound, the newest entries are kept and the oldest go unless
// read since, and the bytes it holds are not on the Go heap.
func TestReadCacheBoundedOffHeap(t *testing.T) {
	const bound = 32 << 20
	var c readCache
	c.max.Store(bound)
	noise := make([]byte, 1<<10)
	rng := rand.NewChaCha8([32]byte{7})
	body := func(i int) []byte {
		rng.Read(noise) // incompressible: kept raw, 1 KiB each
		return append(fmt.Appendf(nil, "%08d", i), noise...)
	}
	heapAlloc := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 100_000 // about 100 MiB put
	before := heapAlloc()
	hot := []byte(`{"hot":true}`)
	c.putBody("hot", 1, hot)
	for i := range n {
		c.putBody(fmt.Sprintf("name\x00\x00component:default/svc-%d", i), 1, body(i))
		if i%5000 == 0 { // every 5 MiB put, a sixth of the cache
			if b, ok := c.getBody("hot", 1); !ok || string(b) != string(hot) {
				t.Fatalf("after %d bodies, the entry read every 5,000 is gone (%q, %v): hits must keep an entry, as in an LRU", i, b, ok)
			}
		}
	}
	grown := int64(heapAlloc()) - int64(before)

	var fs fastcache.Stats
	c.bytes.Load().UpdateStats(&fs)
	t.Logf("%d bodies of 1 KiB put: %d held in %d bytes of chunks (bound %d); heap grew %d bytes", n, fs.EntriesCount, fs.BytesSize, bound, grown)
	if fs.BytesSize > bound || fs.EntriesCount == 0 || fs.EntriesCount >= n/2 {
		t.Errorf("held %d entries in %d bytes: want some, within %d bytes", fs.EntriesCount, fs.BytesSize, bound)
	}
	// The bucket maps (a uint64 pair an entry) are on the heap, the
	// bodies are not: 30,000 of them would be 30 MiB.
	if grown > 8<<20 {
		t.Errorf("the heap grew %d bytes for a full cache: its bodies are on the heap", grown)
	}
	for i := n - 1000; i < n; i++ {
		b, ok := c.getBody(fmt.Sprintf("name\x00\x00component:default/svc-%d", i), 1)
		if !ok || !strings.HasPrefix(string(b), fmt.Sprintf("%08d", i)) {
			t.Fatalf("svc-%d, among the last 1000 put: hit %v", i, ok)
		}
	}
	for i := range 1000 {
		if _, ok := c.getBody(fmt.Sprintf("name\x00\x00component:default/svc-%d", i), 1); ok {
			t.Fatalf("svc-%d, among the first 1000 put, is still held", i)
		}
	}
}

// TestReadCacheVersions: an entry is found only under the catalog version
// it was computed for.
func TestReadCacheVersions(t *testing.T) {
	var c readCache
	c.putBody("k", 5, []byte(`{"v":5}`))
	if _, ok := c.getBody("k", 6); ok {
		t.Error("an entry of version 5 was served for version 6")
	}
	if b, ok := c.getBody("k", 5); !ok || string(b) != `{"v":5}` {
		t.Errorf("version 5: %s, %v", b, ok)
	}
	c.putBody("k", 4, []byte(`{"v":4}`)) // a late put of an older read
	if b, _ := c.getBody("k", 5); string(b) != `{"v":5}` {
		t.Errorf("after an older put: %s", b)
	}
	c.max.Store(-1)
	if _, ok := c.getBody("k", 5); ok {
		t.Error("served with the cache off")
	}
}

// TestPackKeepsIncompressibleRaw: JSON snappy would shrink, but by less
// than a fifth, is held as it is; JSON that shrinks more is held
// compressed; short JSON is never compressed. Both come back unchanged.
func TestPackKeepsIncompressibleRaw(t *testing.T) {
	noise := make([]byte, 700)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	for _, tc := range []struct {
		name, json string
		tag        byte
	}{
		// A tenth or so saved: snappy finds the repeats but no more.
		{"mostly random", fmt.Sprintf(`{"d":"%x%s"}`, noise, strings.Repeat("ab", 200)), packRaw},
		{"repetitive", `{"d":"` + strings.Repeat("the same words ", 100) + `"}`, packSnappy},
		{"short", `{"d":"the same the same the same the same"}`, packRaw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := appendPacked([]byte("prefix"), []byte(tc.json))
			if string(p[:6]) != "prefix" || p[6] != tc.tag {
				t.Fatalf("packed as %q, want tag %q after the prefix", p[:min(len(p), 7)], tc.tag)
			}
			if tc.tag == packSnappy && len(p)-7 > len(tc.json)/2 {
				t.Errorf("compressed to %d of %d bytes", len(p)-7, len(tc.json))
			}
			back, ok := unpack(p[6:])
			if !ok || string(back) != tc.json {
				t.Errorf("unpacked %v: %s", ok, back)
			}
		})
	}
	if _, ok := unpack([]byte("xjunk")); ok {
		t.Error("an unknown tag unpacked")
	}
}
