package apidocs

import (
	"strconv"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	c := NewCache(1 << 20)
	def := fixture(t, "petstore-3.1.yaml")
	want, err := Render("openapi", def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := c.Render("openapi", def, Options{})
			if err != nil || got != want {
				t.Errorf("cached render differs (err %v)", err)
			}
		})
	}
	wg.Wait()
	if c.Len() != 1 {
		t.Errorf("%d entries for one definition", c.Len())
	}
	// Other options are another entry; the cache stays within its bound.
	if got, _ := c.Render("openapi", def, Options{IDPrefix: "other"}); got == want {
		t.Error("the id prefix is not part of the key")
	}
	for i := range 200 {
		if _, err := c.Render("openapi", def+"\n# "+strconv.Itoa(i), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if c.bytes > c.maxBytes || c.Len() >= 200 || c.Len() < 2 {
		t.Errorf("%d entries, %d bytes for a bound of %d", c.Len(), c.bytes, c.maxBytes)
	}
	if _, err := c.Render("openapi", def, Options{HeadingLevel: 9}); err == nil {
		t.Error("bad options accepted through the cache")
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c := NewCache(64 << 20)
	def := largeOpenAPI(200)
	if _, err := c.Render("openapi", def, Options{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Render("openapi", def, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
