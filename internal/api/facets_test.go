package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"greenroom/internal/catalog/query"
)

// TestWriteFacetsMatchesEncodingJSON checks writeFacets against what
// writeJSON (encoding/json) writes for the same response.
func TestWriteFacetsMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		resp query.FacetsResponse
	}{
		{"nil map", query.FacetsResponse{}},
		{"empty map", query.FacetsResponse{Facets: map[string][]query.FacetCount{}}},
		{"nil and empty lists", query.FacetsResponse{Facets: map[string][]query.FacetCount{"kind": nil, "spec.type": {}}}},
		{"sorted keys", query.FacetsResponse{Facets: map[string][]query.FacetCount{
			"spec.type":     {{Value: "service", Count: 3}, {Value: "website", Count: 1}},
			"kind":          {{Value: "Component", Count: 4}, {Value: "API", Count: 0}},
			"Kind":          {{Value: "x", Count: -1}},
			"metadata.tags": {{Value: "go", Count: 1 << 40}},
		}}},
		{"escaped strings", query.FacetsResponse{Facets: map[string][]query.FacetCount{
			`we"ird\key`: {{Value: "<script>&amp;</script>", Count: 1}, {Value: "tab\tnew\nline\r\b\f\x01", Count: 2}},
			"unicodé":    {{Value: "日本語 \u2028 \u2029", Count: 3}, {Value: "bad \xff utf-8", Count: 4}, {Value: "\x7f", Count: 5}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := httptest.NewRecorder()
			writeJSON(want, http.StatusOK, tt.resp)
			got := httptest.NewRecorder()
			writeFacets(got, tt.resp)
			if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("body\n got %s\nwant %s", got.Body, want.Body)
			}
			if cl := got.Header().Get("Content-Length"); cl != strconv.Itoa(got.Body.Len()) {
				t.Errorf("Content-Length %q for %d bytes", cl, got.Body.Len())
			}
			got.Header().Del("Content-Length")
			if got.Code != want.Code || !headersEqual(got.Header(), want.Header()) {
				t.Errorf("status %d, headers %v; want %d, %v", got.Code, got.Header(), want.Code, want.Header())
			}
			if !json.Valid(got.Body.Bytes()) {
				t.Errorf("not JSON: %s", got.Body)
			}
		})
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if len(b[k]) != len(v) {
			return false
		}
		for i := range v {
			if b[k][i] != v[i] {
				return false
			}
		}
	}
	return true
}

func BenchmarkWriteFacets(b *testing.B) {
	resp := query.FacetsResponse{Facets: map[string][]query.FacetCount{"metadata.tags": {}}}
	for i := range 60 {
		resp.Facets["metadata.tags"] = append(resp.Facets["metadata.tags"], query.FacetCount{Value: "tag-" + string(rune('a'+i%26)) + "x", Count: i * 37})
	}
	for _, bc := range []struct {
		name  string
		write func(http.ResponseWriter)
	}{
		{"encoding/json", func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, resp) }},
		{"writeFacets", func(w http.ResponseWriter) { writeFacets(w, resp) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.write(w)
			}
		})
	}
}
