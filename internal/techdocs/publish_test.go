package techdocs

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"greenroom/internal/greenroom"
)

// testPublishers returns a local publisher and an S3 publisher talking to
// a real S3-compatible server (gofakes3) on loopback.
func testPublishers(t *testing.T) map[string]Publisher {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend)
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("techdocs"); err != nil {
		t.Fatal(err)
	}
	s3p, err := NewS3Publisher(context.Background(), S3Options{Bucket: "techdocs", Region: "eu-west-1", Endpoint: srv.URL,
		ForcePathStyle: true, AccessKeyID: "key", SecretAccessKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Publisher{"local": &LocalPublisher{Dir: t.TempDir()}, "awsS3": s3p}
}

func readAll(t *testing.T, p Publisher, n EntityName, file string) (string, error) {
	t.Helper()
	rc, _, err := p.Open(context.Background(), n, file)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestPublishers(t *testing.T) {
	ctx := context.Background()
	n := EntityName{Namespace: "Default", Kind: "Component", Name: "Payments"}
	for name, p := range testPublishers(t) {
		t.Run(name, func(t *testing.T) {
			v1 := project(t, map[string]string{"index.html": "one", "old/index.html": "old", MetadataFile: `{"site_name":"v1"}`})
			if err := p.Publish(ctx, n, v1); err != nil {
				t.Fatal(err)
			}
			if got, err := readAll(t, p, n, ""); err != nil || got != "one" {
				t.Fatalf("index = %q, %v", got, err)
			}
			v2 := project(t, map[string]string{"index.html": "two", "new page/index.html": "new", MetadataFile: `{"site_name":"v2","build_timestamp":5}`})
			if err := p.Publish(ctx, n, v2); err != nil {
				t.Fatal(err)
			}
			for file, want := range map[string]string{"index.html": "two", "new page/": "new"} {
				if got, err := readAll(t, p, n, file); err != nil || got != want {
					t.Errorf("%s = %q, %v; want %q", file, got, err, want)
				}
			}
			if _, err := readAll(t, p, n, "old/index.html"); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
				t.Errorf("stale file after republish: err = %v", err)
			}
			for _, bad := range []string{"../../x", "a/../../b", "..", "a\\b"} {
				if _, err := readAll(t, p, n, bad); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
					t.Errorf("Open(%q): err = %v, want not_found", bad, err)
				}
			}
			m, err := ReadMetadata(ctx, p, n)
			if err != nil || m.SiteName != "v2" || m.BuildTimestamp != 5 {
				t.Errorf("metadata = %+v, %v", m, err)
			}
			other := EntityName{Namespace: "default", Kind: "component", Name: "other"}
			if _, err := ReadMetadata(ctx, p, other); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
				t.Errorf("metadata of an entity without docs: err = %v", err)
			}
		})
	}
}

// TestLocalLayout checks Backstage's object layout on disk.
func TestLocalLayout(t *testing.T) {
	dir := t.TempDir()
	p := &LocalPublisher{Dir: dir}
	site := project(t, map[string]string{"index.html": "x"})
	if err := p.Publish(context.Background(), EntityName{"Default", "Component", "Svc"}, site); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "default", "component", "svc", "index.html")); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), EntityName{"default", "component", ".."}, site); !errors.Is(err, err) || greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("publish with name ..: err = %v", err)
	}
}

func TestResolveSource(t *testing.T) {
	tests := []struct {
		ann     map[string]string
		want    Source
		errCode greenroom.Code
	}{
		{map[string]string{AnnotationRef: "dir:.", AnnotationLocation: "url:https://github.com/acme/pay/blob/main/catalog-info.yaml"},
			Source{"url", "https://github.com/acme/pay/blob/main/"}, ""},
		{map[string]string{AnnotationRef: "dir:./sub/docs", AnnotationSourceLocation: "url:https://github.com/acme/pay/tree/main/", AnnotationLocation: "url:https://x/y.yaml"},
			Source{"url", "https://github.com/acme/pay/tree/main/sub/docs/"}, ""},
		{map[string]string{AnnotationRef: "url:https://github.com/acme/docs/tree/main"}, Source{"url", "https://github.com/acme/docs/tree/main"}, ""},
		{map[string]string{AnnotationRef: "dir:.", AnnotationLocation: "file:/repo/services/pay/catalog-info.yaml"}, Source{"dir", "/repo/services/pay"}, ""},
		{map[string]string{AnnotationRef: "dir:./docs-site", AnnotationLocation: "file:/repo/pay/catalog-info.yaml"}, Source{"dir", "/repo/pay/docs-site"}, ""},
		{map[string]string{AnnotationRef: "dir:../../etc", AnnotationLocation: "file:/repo/pay/catalog-info.yaml"}, Source{}, greenroom.CodeInvalid},
		{map[string]string{AnnotationRef: "dir:."}, Source{}, greenroom.CodeInvalid},
		{map[string]string{AnnotationRef: "git:x"}, Source{}, greenroom.CodeInvalid},
		{map[string]string{AnnotationRef: "url:ftp://x/y"}, Source{}, greenroom.CodeInvalid},
		{map[string]string{}, Source{}, greenroom.CodeNotFound},
	}
	for _, tt := range tests {
		got, err := ResolveSource(tt.ann)
		if greenroom.ErrorCode(err) != tt.errCode || got != tt.want {
			t.Errorf("ResolveSource(%v) = %v, %v; want %v, code %q", tt.ann, got, err, tt.want, tt.errCode)
		}
	}
}
