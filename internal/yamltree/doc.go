// Package yamltree parses untrusted YAML (and JSON, which is YAML) into a
// bounded tree of positioned values.
//
// It is the one place where Greenroom hands text from files it does not
// control to a YAML parser, go.yaml.in/yaml/v4, of which it uses only the
// node tree. Every parse is bounded before the text reaches the parser
// (size, structural characters), while it parses (nesting), and after it
// (depth, keys per mapping and total nodes, with alias expansions charged
// before they are made); duplicate keys are rejected, every document of a
// multi-document stream is returned, and a panic in the parser becomes an
// error. Scalars are resolved here, by the rules yamltree has always
// applied, not by the parser's. Each Node keeps the file, line and column
// it was declared at, so callers can point at the place to fix.
//
// Decoders into Go values must not be used on untrusted input:
// goccy/go-yaml's (yaml.Unmarshal, yaml.NewDecoder), which other packages
// use for marshalling, expands alias bombs, has no depth or size bound,
// and stops at the first empty document of a stream, silently dropping
// the rest; go.yaml.in/yaml/v4's bounds aliases by a ratio only and
// neither the size nor the nodes of what it builds.
//
// The package knows nothing of configuration, catalog entities or any
// other meaning of the data: it must not import other Greenroom packages,
// only the standard library and go.yaml.in/yaml/v4, and must not read
// files, log or keep package-level state.
package yamltree
