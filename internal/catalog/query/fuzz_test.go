package query_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// FuzzParseFilter checks that the filter parser never panics, fails only
// with greenroom.CodeInvalid, and yields filters that survive the cursor's
// JSON round trip. The seed corpus is in testdata/fuzz/FuzzParseFilter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"kind=component", "a=1,b=2,a=3", "a", "a=", "=a", ",,,", "a=b=c, d ,e="} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		filters := []string{first}
		if second != "" {
			filters = append(filters, second)
		}
		got, err := query.ParseFilter(url.Values{"filter": filters})
		if err != nil {
			if code := greenroom.ErrorCode(err); code != greenroom.CodeInvalid {
				t.Fatalf("ParseFilter(%q) error code %q, want invalid: %v", filters, code, err)
			}
			return
		}
		if got == nil {
			if strings.TrimFunc(first+second, blank) != "" {
				t.Fatalf("ParseFilter(%q) = nil for a non-blank filter", filters)
			}
			return
		}
		var check func(f query.Filter)
		check = func(f query.Filter) {
			if f.Op == query.OpMatch && f.Key == "" {
				t.Fatalf("ParseFilter(%q) produced an empty key: %+v", filters, got)
			}
			for _, s := range f.Sub {
				check(s)
			}
		}
		check(*got)
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", got, err)
		}
		var back query.Filter
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if diff := cmp.Diff(*got, back); diff != "" {
			t.Fatalf("JSON round trip of %q (-want +got):\n%s", filters, diff)
		}
	})
}

// blank is a comma or what JavaScript's trim removes.
func blank(r rune) bool {
	switch r {
	case ',', '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// FuzzParsePredicate checks that the predicate parser never panics, fails
// only with greenroom.CodeInvalid, and yields filters that survive the JSON
// of a cursor, both as a filter and as the query a cursor carries; and that
// $not means negation. The seed corpus is in
// testdata/fuzz/FuzzParsePredicate.
func FuzzParsePredicate(f *testing.F) {
	for _, s := range []string{
		`{"kind":"component"}`, `{}`, `{"$all":[{"kind":"component"},{"spec.type":{"$in":["service",7,true]}}]}`,
		`{"$any":[{"$not":{"spec.owner":{"$exists":false}}}]}`, `{"metadata.name":{"$hasPrefix":"pay"}}`,
		`{"metadata.tags":{"$contains":{"$any":["java","go"]}}}`, `{"relations":{"$contains":{"type":"ownedBy","targetRef":"x"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := query.ParsePredicate(raw)
		if err != nil {
			if code := greenroom.ErrorCode(err); code != greenroom.CodeInvalid {
				t.Fatalf("ParsePredicate(%q) error code %q, want invalid: %v", raw, code, err)
			}
			if !strings.HasPrefix(greenroom.ErrorMessage(err), "query") {
				t.Fatalf("ParsePredicate(%q) error %q is not located", raw, greenroom.ErrorMessage(err))
			}
			return
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", got, err)
		}
		var back query.Filter
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if diff := cmp.Diff(got, back); diff != "" {
			t.Fatalf("JSON round trip of %q (-want +got):\n%s", raw, diff)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			t.Fatalf("Compact(%q) of a parsed predicate: %v", raw, err)
		}
		c := query.Cursor{Query: compact.Bytes(), OrderFields: []query.Order{}, OrderFieldValues: []string{"1"}}
		dc, err := query.DecodeCursor(c.Encode())
		if err != nil {
			t.Fatalf("cursor with query %s: %v", compact.Bytes(), err)
		}
		if diff := cmp.Diff(&got, dc.Filter); diff != "" {
			t.Fatalf("cursor round trip of %s (-want +got):\n%s", compact.Bytes(), diff)
		}
		negated, err := query.ParsePredicate([]byte(`{"$not":` + compact.String() + `}`))
		if err == nil {
			if diff := cmp.Diff(query.Not(got), negated); diff != "" {
				t.Fatalf("$not of %s (-want +got):\n%s", compact.Bytes(), diff)
			}
		}
	})
}
