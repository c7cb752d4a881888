package query_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// The cases follow Backstage's parseEntityTransformParams.test.ts.
const fieldsEntity = `{
  "apiVersion": "av", "kind": "k",
  "metadata": {"name": "n", "tags": ["t1", "t2"], "annotations": {
    "example.test/url-like-key": "ul1", "example.com/other-url-like-key": "ul2", "other-example.test/next-url-like-key": "ul3"}},
  "spec": {"type": "t", "strValue": "st1", "boolValue": true, "numValue": 4, "arrValue": [4, 5], "nullValue": null,
    "field-with.dot": "fd1",
    "other-field-with.dot-also": {"subItem": "fd2.sub", "subite.with/dot": "fd2.sub.dot"}}
}`

func TestParseFields(t *testing.T) {
	tests := []struct {
		params []string
		want   query.Fields
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{","}, nil},
		{[]string{"  "}, nil},
		{[]string{"kind"}, query.Fields{"kind"}},
		{[]string{"kind,metadata.name"}, query.Fields{"kind", "metadata.name"}},
		{[]string{"kind", "metadata.name", "kind"}, query.Fields{"kind", "metadata.name"}},
		{[]string{" kind , metadata.name "}, query.Fields{"kind", "metadata.name"}},
		{[]string{"kind", "", "metadata.name"}, query.Fields{"kind", "metadata.name"}},
		{[]string{"metadata.annotations.backstage.io/techdocs-ref"}, query.Fields{"metadata.annotations.backstage.io/techdocs-ref"}},
	}
	for _, tt := range tests {
		got, err := query.ParseFields(url.Values{"fields": tt.params})
		if err != nil {
			t.Fatalf("ParseFields(%q): %v", tt.params, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseFields(%q) (-want +got):\n%s", tt.params, diff)
		}
	}
	_, err := query.ParseFields(url.Values{"fields": {"kind,metadata.tags[0]"}})
	if greenroom.ErrorCode(err) != greenroom.CodeInvalid ||
		greenroom.ErrorMessage(err) != `Invalid field "metadata.tags[0]", array type fields are not supported` {
		t.Errorf("array field: err = %v", err)
	}
}

func TestFieldsApply(t *testing.T) {
	tests := []struct {
		fields string
		want   string
	}{
		{"kind", `{"kind":"k"}`},
		{"kind,apiVersion", `{"apiVersion":"av","kind":"k"}`},
		{"kind,metadata.name", `{"kind":"k","metadata":{"name":"n"}}`},
		{"metadata", `{"metadata":{"name":"n","tags":["t1","t2"],"annotations":{"example.test/url-like-key":"ul1",
			"example.com/other-url-like-key":"ul2","other-example.test/next-url-like-key":"ul3"}}}`},
		{"kind,metadata.annotations.example.com/other-url-like-key", `{"kind":"k","metadata":{"annotations":{"example.com/other-url-like-key":"ul2"}}}`},
		{"kind,spec.other-field-with.dot-also", `{"kind":"k","spec":{"other-field-with.dot-also":{"subItem":"fd2.sub","subite.with/dot":"fd2.sub.dot"}}}`},
		{"kind,spec.other-field-with.dot-also.subite.with/dot", `{"kind":"k","spec":{"other-field-with.dot-also":{"subite.with/dot":"fd2.sub.dot"}}}`},
		// A longer path than the data holds selects nothing.
		{"kind,spec.strValue.other", `{"kind":"k"}`},
		{"kind,spec.boolValue.other", `{"kind":"k"}`},
		{"kind,spec.numValue.other", `{"kind":"k"}`},
		{"kind,spec.arrValue.other", `{"kind":"k"}`},
		{"kind,spec.nullValue.other", `{"kind":"k"}`},
		{"kind,spec.undefValue.other", `{"kind":"k"}`},
		{"kind,spec.field-with.dot.other", `{"kind":"k"}`},
		// Greenroom additions: nulls are kept, indexes reach array items.
		{"spec.nullValue", `{"spec":{"nullValue":null}}`},
		{"metadata.tags.1", `{"metadata":{"tags":[null,"t2"]}}`},
		{"metadata.name,metadata", `{"metadata":{"name":"n","tags":["t1","t2"],"annotations":{"example.test/url-like-key":"ul1",
			"example.com/other-url-like-key":"ul2","other-example.test/next-url-like-key":"ul3"}}}`},
		{"nothing.here", `{}`},
	}
	for _, tt := range tests {
		fields, err := query.NewFields([]string{tt.fields})
		if err != nil {
			t.Fatal(err)
		}
		got, err := fields.ApplyJSON([]byte(fieldsEntity))
		if err != nil {
			t.Fatal(err)
		}
		var gotV, wantV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tt.want), &wantV); err != nil {
			t.Fatalf("bad want %s: %v", tt.want, err)
		}
		if diff := cmp.Diff(wantV, gotV); diff != "" {
			t.Errorf("fields %s (-want +got):\n%s", tt.fields, diff)
		}
	}
	body := []byte(`{"kind":"k"}`)
	if got, err := query.Fields(nil).ApplyJSON(body); err != nil || string(got) != string(body) {
		t.Errorf("no fields: %s, %v; want the body unchanged", got, err)
	}
}

func TestFieldsApplyLeavesInputAlone(t *testing.T) {
	var entity map[string]any
	if err := json.Unmarshal([]byte(fieldsEntity), &entity); err != nil {
		t.Fatal(err)
	}
	var before any
	_ = json.Unmarshal([]byte(fieldsEntity), &before)
	query.Fields{"metadata", "metadata.tags.1", "metadata.name", "spec.type"}.Apply(entity)
	if diff := cmp.Diff(before, any(entity)); diff != "" {
		t.Errorf("Apply changed its input (-before +after):\n%s", diff)
	}
}
