package apidocs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported is returned, wrapped, for an API type this package has
// no viewer for (grpc, trpc, anything custom); Render shows those
// definitions as text.
var ErrUnsupported = errors.New("no viewer for this API type")

// Options tune Parse and Render.
type Options struct {
	// HeadingLevel is the level of the fragment's top heading, the API's
	// title, 1 to 6; its sections are one level below, and so on, never
	// past 6. Default 2.
	HeadingLevel int
	// IDPrefix prefixes every id of the fragment, which must be unique on
	// the page: a letter, then letters, digits, '-' or '_', at most 32.
	// Default "api".
	IDPrefix string
	// Title is the fragment's title when the definition names none, as a
	// GraphQL schema never does: the API entity's title, say.
	Title string
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`)

func (o Options) normalised() (Options, error) {
	if o.HeadingLevel == 0 {
		o.HeadingLevel = 2
	}
	if o.HeadingLevel < 1 || o.HeadingLevel > 6 {
		return o, fmt.Errorf("apidocs: heading level %d: choose 1 to 6", o.HeadingLevel)
	}
	if o.IDPrefix == "" {
		o.IDPrefix = "api"
	}
	if !prefixPattern.MatchString(o.IDPrefix) {
		return o, fmt.Errorf("apidocs: id prefix %q: a letter, then up to 31 letters, digits, '-' or '_'", o.IDPrefix)
	}
	return o, nil
}

// Parse reads an API entity's spec.definition of the given spec.type
// (openapi, asyncapi or graphql, compared case-insensitively) into a
// Document. A definition that cannot be read gives an *Error locating the
// problem; another type gives an error wrapping ErrUnsupported.
func Parse(specType, definition string, opts Options) (*Document, error) {
	opts, err := opts.normalised()
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(definition) {
		return nil, &Error{Message: "the definition is not valid UTF-8 text"}
	}
	ids := newAnchors(opts.IDPrefix)
	var doc *Document
	switch t := strings.ToLower(strings.TrimSpace(specType)); t {
	case "openapi", "asyncapi":
		root, err := parseTree(definition)
		if err != nil {
			return nil, err
		}
		if t == "openapi" {
			doc, err = readOpenAPI(root, ids)
		} else {
			doc, err = readAsyncAPI(root, ids)
		}
		if err != nil {
			return nil, err
		}
	case "graphql":
		if doc, err = readGraphQL(definition, ids); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("apidocs: API type %q: %w", specType, ErrUnsupported)
	}
	doc.prefix = opts.IDPrefix
	if doc.Title == "" {
		doc.Title = opts.Title
	}
	return doc, nil
}
