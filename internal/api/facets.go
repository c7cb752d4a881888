package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"greenroom/internal/catalog/query"
)

// writeFacets writes a facets response as writeJSON would, byte for byte
// (with a Content-Length),
// without encoding/json's reflection over the map and its values: facets
// are answered from the read cache thousands of times a second, and
// encoding the counts was the largest part of the handler's work.
func writeFacets(w http.ResponseWriter, resp query.FacetsResponse) {
	buf := pageBuffers.Get().(*[]byte)
	b := appendFacets((*buf)[:0], resp)
	writeRawJSON(w, http.StatusOK, b) // with its Content-Length: a page of tags is sent in one piece, not chunked
	if cap(b) <= maxPooledPage {
		*buf = b[:0]
		pageBuffers.Put(buf)
	}
}

// appendFacets appends resp as json.Encoder.Encode writes it: keys in
// byte order, a newline at the end.
func appendFacets(b []byte, resp query.FacetsResponse) []byte {
	if resp.Facets == nil {
		return append(b, `{"facets":null}`+"\n"...)
	}
	b = append(b, `{"facets":{`...)
	keys := facetKeys.Get().(*[]string)
	*keys = slices.AppendSeq((*keys)[:0], maps.Keys(resp.Facets))
	slices.Sort(*keys)
	for i, k := range *keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		counts := resp.Facets[k]
		if counts == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, c := range counts {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendJSONString(b, c.Value)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(c.Count), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	clear(*keys)
	facetKeys.Put(keys)
	return append(b, "}}\n"...)
}

var facetKeys = sync.Pool{New: func() any { return new([]string) }}

// appendJSONString appends s as encoding/json quotes it (HTML characters
// escaped, as json.Encoder does by default). Strings of plain printable
// ASCII, nearly all facet values, are copied; any other goes through
// encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s) // a string: cannot fail
			if err != nil {
				panic(err)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
