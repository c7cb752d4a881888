// Package yamltree parses untrusted YAML (and JSON, which is YAML) into a
// bounded tree of positioned values.
//
// It is the one place where Greenroom hands text from files it does not
// control to github.com/goccy/go-yaml. Every parse is bounded before the
// text reaches goccy's parser (size, structural characters, keys per
// mapping, nesting) and after it (depth and total nodes, with alias
// expansions charged before they are made), duplicate keys are rejected,
// every document of a multi-document stream is returned, and a panic in
// the parser becomes an error. Each Node keeps the file, line and column
// it was declared at, so callers can point at the place to fix.
//
// goccy's Decoder (yaml.Unmarshal, yaml.NewDecoder) must not be used on
// untrusted input: it expands alias bombs, has no depth or size bound, and
// stops at the first empty document of a stream, silently dropping the
// rest.
//
// The package knows nothing of configuration, catalog entities or any
// other meaning of the data: it must not import other Greenroom packages,
// only the standard library and goccy/go-yaml, and must not read files,
// log or keep package-level state.
package yamltree
