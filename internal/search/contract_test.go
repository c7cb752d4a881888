package search_test

import (
	"path/filepath"
	"testing"

	"greenroom/internal/search"
	"greenroom/internal/search/searchtest"
)

// TestBleveContract runs the engine contract every engine meets against
// the embedded index.
func TestBleveContract(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Engine {
		b, err := search.NewBleve(filepath.Join(t.TempDir(), "idx"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}

// TestBleveVisibilityProperty runs the visibility property against the
// embedded index.
func TestBleveVisibilityProperty(t *testing.T) {
	searchtest.VisibilityProperty(t, func(t *testing.T) search.Engine {
		b, err := search.NewBleve(filepath.Join(t.TempDir(), "idx"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}
