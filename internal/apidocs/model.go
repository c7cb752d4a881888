package apidocs

// Document is an API definition read into what the viewer shows. Exactly
// one of OpenAPI, AsyncAPI and GraphQL is set.
type Document struct {
	// Type is the entity's spec.type: openapi, asyncapi or graphql.
	Type string
	// Format names the specification and its version: "OpenAPI 3.1.0",
	// "Swagger 2.0", "AsyncAPI 2.6.0", "GraphQL SDL".
	Format      string
	Title       string
	Version     string
	Description string // Markdown
	Servers     []Server
	OpenAPI     *OpenAPI
	AsyncAPI    *AsyncAPI
	GraphQL     *GraphQL
	// Notes are located problems that did not stop the reading, such as a
	// $ref to nothing: "line 40, column 13: $ref "#/x" names nothing".
	Notes []string

	prefix string // Options.IDPrefix, for the ids of fixed sections
}

// Server is one place the API is served.
type Server struct {
	Name        string // AsyncAPI's server name; "" for OpenAPI
	URL         string
	Protocol    string
	Description string
}

// OpenAPI is the part of a Swagger 2.0 or OpenAPI 3.x definition the
// viewer shows.
type OpenAPI struct {
	// Groups are the operations by tag, in the order of the document's
	// tags list and then of first use; untagged ones come last, under
	// "Other operations"; 3.1 webhooks under "Webhooks".
	Groups  []Group
	Schemas []NamedSchema // components.schemas, or definitions in 2.0
	// Operations counts every operation.
	Operations int
}

// Group is the operations of one tag.
type Group struct {
	Name        string
	Description string
	Anchor      string
	Operations  []Operation
}

// Operation is one method on one path.
type Operation struct {
	Anchor      string
	Method      string // upper case: GET, POST…
	Path        string
	OperationID string
	Summary     string
	Description string
	Deprecated  bool
	Parameters  []Parameter
	Body        *Body
	Responses   []Response
}

// Parameter is one path, query, header or cookie parameter, or a header
// of a response or message.
type Parameter struct {
	Name        string
	In          string
	Required    bool
	Deprecated  bool
	Description string
	Schema      *Schema
}

// Body is a request body.
type Body struct {
	Description string
	Required    bool
	Content     []Media
}

// Media is one media type of a body or response, with its schema.
type Media struct {
	Type    string
	Schema  *Schema
	Example string
}

// Response is one status of an operation.
type Response struct {
	Status      string
	Description string
	Headers     []Parameter
	Content     []Media
}

// NamedSchema is a reusable schema (components.schemas, definitions, or
// AsyncAPI's components.schemas).
type NamedSchema struct {
	Name   string
	Anchor string
	Schema *Schema
}

// Schema is a JSON Schema (or OpenAPI Schema Object) as a tree of
// properties.
type Schema struct {
	// Name is the property name, or "" at the top of a tree; Required says
	// whether the parent object requires it.
	Name     string
	Required bool
	// Type describes the value: "string", "integer (int64)", "array",
	// "object", "string | null"…
	Type string
	// RefName and RefAnchor name the reusable schema a $ref led to, so the
	// page can link to it.
	RefName, RefAnchor string
	Title              string
	Description        string
	Enum               []string // the values, as JSON
	Default            string
	Example            string
	Const              string
	Constraints        []string // "at least 1", "pattern ^[a-z]+$"…
	Nullable           bool
	ReadOnly           bool
	WriteOnly          bool
	Deprecated         bool
	Properties         []*Schema
	Items              *Schema // of an array
	Additional         *Schema // additionalProperties of a map
	VariantKind        string  // "one of", "any of", "all of", "not"
	Variants           []*Schema
	// Recursive marks a $ref back to a schema that encloses this one: the
	// page links to it instead of repeating it.
	Recursive bool
	// Collapsed marks a $ref not expanded here, because of the nesting
	// bound or the size bound: the page links to it.
	Collapsed bool
	// Unresolved is the $ref as written when it could not be followed:
	// another document, or nothing at that place.
	Unresolved string
}

// AsyncAPI is the part of an AsyncAPI 2.x or 3.0 definition the viewer
// shows.
type AsyncAPI struct {
	DefaultContentType string
	Channels           []Channel
	Schemas            []NamedSchema
	// Operations counts every operation.
	Operations int
}

// Channel is one channel (topic, queue, path) with its operations.
type Channel struct {
	Name        string // the key in channels
	Address     string // 3.0's address; for 2.x the name
	Anchor      string
	Title       string
	Description string
	Parameters  []Parameter
	Operations  []AsyncOperation
	// Messages are the channel's own messages (3.0); those of its
	// operations are listed with them.
	Messages []Message
}

// AsyncOperation is what an application does on a channel.
type AsyncOperation struct {
	// Action is as written: publish or subscribe (2.x), send or receive
	// (3.0). Verb says it for the page: "Publish", "Subscribe"…
	Action      string
	Verb        string
	ID          string
	Title       string
	Summary     string
	Description string
	Messages    []Message
}

// Message is one message an operation carries.
type Message struct {
	Name        string
	Title       string
	Summary     string
	Description string
	ContentType string
	Headers     *Schema
	Payload     *Schema
	Unresolved  string
}

// GraphQL is a GraphQL schema.
type GraphQL struct {
	// Query, Mutation and Subscription are the root operation types, nil
	// when the schema has none.
	Query, Mutation, Subscription *GQLType
	// Types are the other named types, by kind (objects, interfaces,
	// unions, enums, input objects, scalars) and then name.
	Types []GQLType
}

// GQLType is a named GraphQL type.
type GQLType struct {
	Kind        string // "type", "interface", "union", "enum", "input", "scalar"
	Name        string
	Anchor      string
	Description string
	Interfaces  []TypeRef
	Fields      []GQLField
	EnumValues  []EnumValue
	Members     []TypeRef // of a union
}

// GQLField is a field of an object, interface or input type, or an
// argument of a field.
type GQLField struct {
	Name        string
	Description string
	Type        TypeRef
	Args        []GQLField
	Default     string
	Deprecated  string // the reason, "" when not deprecated; "deprecated" without one
}

// EnumValue is one value of an enum.
type EnumValue struct {
	Name        string
	Description string
	Deprecated  string
}

// TypeRef is a type as written, "[Pet!]!", split around its named type so
// that the page can link the name: Prefix "[", Name "Pet", Suffix "!]!".
// Anchor is set when the schema defines the named type.
type TypeRef struct {
	Prefix, Name, Suffix string
	Anchor               string
}
