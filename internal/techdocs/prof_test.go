package techdocs

import (
	"context"
	"os"
	"testing"
)

func TestProfBuild(t *testing.T) {
	src := os.Getenv("TD_PROF")
	if src == "" {
		t.Skip()
	}
	res, err := Build(context.Background(), src, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(len(res.Pages), res.Duration)
}
