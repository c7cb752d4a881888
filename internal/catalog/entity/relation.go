package entity

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"greenroom/internal/greenroom"
)

// The relation types Backstage's catalog emits for the built-in kinds, with
// Backstage's exact spellings. They come in pairs, one per direction.
const (
	RelationOwnedBy       = "ownedBy"
	RelationOwnerOf       = "ownerOf"
	RelationConsumesAPI   = "consumesApi"
	RelationAPIConsumedBy = "apiConsumedBy"
	RelationProvidesAPI   = "providesApi"
	RelationAPIProvidedBy = "apiProvidedBy"
	RelationDependsOn     = "dependsOn"
	RelationDependencyOf  = "dependencyOf"
	RelationParentOf      = "parentOf"
	RelationChildOf       = "childOf"
	RelationMemberOf      = "memberOf"
	RelationHasMember     = "hasMember"
	RelationPartOf        = "partOf"
	RelationHasPart       = "hasPart"
)

var inverseRelations = map[string]string{
	RelationOwnedBy: RelationOwnerOf, RelationOwnerOf: RelationOwnedBy,
	RelationConsumesAPI: RelationAPIConsumedBy, RelationAPIConsumedBy: RelationConsumesAPI,
	RelationProvidesAPI: RelationAPIProvidedBy, RelationAPIProvidedBy: RelationProvidesAPI,
	RelationDependsOn: RelationDependencyOf, RelationDependencyOf: RelationDependsOn,
	RelationParentOf: RelationChildOf, RelationChildOf: RelationParentOf,
	RelationMemberOf: RelationHasMember, RelationHasMember: RelationMemberOf,
	RelationPartOf: RelationHasPart, RelationHasPart: RelationPartOf,
}

// InverseRelation returns the type of the relation in the other direction,
// such as ownerOf for ownedBy, and false for a type it does not know.
func InverseRelation(typ string) (string, bool) {
	inv, ok := inverseRelations[typ]
	return inv, ok
}

// Relation is one directed edge between two entities.
//
// Its JSON form is the one Backstage's stitched entities carry in their
// relations array, {"type":"ownedBy","targetRef":"group:default/team-a"}:
// the source is the entity holding the array, and targetRef is the
// lowercased canonical ref. Current Backstage no longer emits the
// deprecated compound "target" object; UnmarshalJSON still reads it.
type Relation struct {
	Type   string
	Source greenroom.EntityRef
	Target greenroom.EntityRef
}

type relationJSON struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// MarshalJSON implements json.Marshaler.
func (r Relation) MarshalJSON() ([]byte, error) {
	return json.Marshal(relationJSON{Type: r.Type, TargetRef: r.Target.String()})
}

// UnmarshalJSON implements json.Unmarshaler. Source is left unset.
func (r *Relation) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "relation: %w", err)
	}
	rel, ok := relationFromMap(m)
	if !ok {
		return greenroom.Errorf(greenroom.CodeInvalid, "relation must have a type and a targetRef")
	}
	*r = rel
	return nil
}

func relationFromMap(m map[string]any) (Relation, bool) {
	typ, _ := m["type"].(string)
	if typ == "" {
		return Relation{}, false
	}
	var target greenroom.EntityRef
	var err error
	if ref, ok := m["targetRef"].(string); ok {
		target, err = ParseRefInContext(ref, "", "")
	} else if t, ok := m["target"].(map[string]any); ok {
		target, err = ParseRefValue(t, "", "")
	} else {
		return Relation{}, false
	}
	if err != nil {
		return Relation{}, false
	}
	return Relation{Type: typ, Target: target}, true
}

// relationField is one spec field from which the catalog derives relations.
type relationField struct {
	field       string // key under spec
	defaultKind string // "" when the reference must name its kind
	outgoing    string // from the entity to the target
	incoming    string // from the target back to the entity
}

// kindRelations lists a built-in kind's relation fields. apiVersion, when
// set, must match too: the scaffolder only treats v1beta3 templates.
type kindRelations struct {
	apiVersion string
	fields     []relationField
}

var (
	ownerField  = relationField{"owner", "Group", RelationOwnedBy, RelationOwnerOf}
	systemField = relationField{"system", "System", RelationPartOf, RelationHasPart}
	dependsOn   = relationField{"dependsOn", "", RelationDependsOn, RelationDependencyOf}
	dependency  = relationField{"dependencyOf", "", RelationDependencyOf, RelationDependsOn}
)

// builtinRelations is BuiltinKindsEntityProcessor's (and the scaffolder's
// ScaffolderEntitiesProcessor's) emission table, field by field in its
// order, keyed by the exact, case-sensitive kind.
var builtinRelations = map[string]kindRelations{
	"Component": {fields: []relationField{
		ownerField,
		{"subcomponentOf", "Component", RelationPartOf, RelationHasPart},
		{"providesApis", "API", RelationProvidesAPI, RelationAPIProvidedBy},
		{"consumesApis", "API", RelationConsumesAPI, RelationAPIConsumedBy},
		dependsOn,
		dependency,
		systemField,
	}},
	"API":      {fields: []relationField{ownerField, systemField}},
	"Resource": {fields: []relationField{ownerField, dependsOn, dependency, systemField}},
	"User":     {fields: []relationField{{"memberOf", "Group", RelationMemberOf, RelationHasMember}}},
	"Group": {fields: []relationField{
		{"parent", "Group", RelationChildOf, RelationParentOf},
		{"children", "Group", RelationParentOf, RelationChildOf},
		{"members", "User", RelationHasMember, RelationMemberOf},
	}},
	"System":   {fields: []relationField{ownerField, {"domain", "Domain", RelationPartOf, RelationHasPart}}},
	"Domain":   {fields: []relationField{ownerField, {"subdomainOf", "Domain", RelationPartOf, RelationHasPart}}},
	"Template": {apiVersion: "scaffolder.backstage.io/v1beta3", fields: []relationField{ownerField}},
}

// relationFieldsOf returns the relation fields that apply to e.
func relationFieldsOf(e *Entity) []relationField {
	kr, ok := builtinRelations[e.Kind()]
	if !ok || (kr.apiVersion != "" && kr.apiVersion != e.APIVersion()) {
		return nil
	}
	return kr.fields
}

// Relations returns every relation the catalog derives from e's spec, as
// Backstage's BuiltinKindsEntityProcessor emits them: for each reference, the
// outgoing relation from e and the incoming one from the target back to e,
// in field order, with the field's default kind and e's own namespace filling
// in what the reference leaves out. Duplicates are dropped, as the catalog's
// relations table does. Entities of other kinds have none.
//
// A reference that cannot be parsed (dependsOn: [foo] names no kind) makes
// Backstage fail the whole entity. Relations returns the relations of the
// references it could read and an error, coded invalid, naming the others;
// Validate reports the same problems.
func Relations(e *Entity) ([]Relation, error) {
	fields := relationFieldsOf(e)
	if len(fields) == 0 {
		return nil, nil
	}
	self := e.Ref()
	spec := e.Spec()
	var out []Relation
	seen := map[relationKey]bool{}
	add := func(r Relation) {
		k := keyOf(r)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	var problems Problems
	for _, f := range fields {
		eachRef(spec, f, self.Namespace, func(target greenroom.EntityRef) {
			add(Relation{Type: f.outgoing, Source: self, Target: target})
			add(Relation{Type: f.incoming, Source: target, Target: self})
		}, func(p Problem) { problems = append(problems, p) })
	}
	if len(problems) > 0 {
		return out, greenroom.Errorf(greenroom.CodeInvalid, "entity %s: %w", self, problems)
	}
	return out, nil
}

// relationKey identifies a relation the way the catalog compares them: by
// type and the lowercased parts of both refs.
type relationKey struct {
	typ               string
	sKind, sNS, sName string
	tKind, tNS, tName string
}

func keyOf(r Relation) relationKey {
	return relationKey{
		r.Type,
		strings.ToLower(r.Source.Kind), strings.ToLower(r.Source.Namespace), strings.ToLower(r.Source.Name),
		strings.ToLower(r.Target.Kind), strings.ToLower(r.Target.Namespace), strings.ToLower(r.Target.Name),
	}
}

// eachRef reads the references in one relation field the way the processor
// does: a missing or empty value yields nothing; a string or compound object
// is one reference; an array holds several, none of which may be empty.
func eachRef(spec map[string]any, f relationField, namespace string, yield func(greenroom.EntityRef), fail func(Problem)) {
	v, ok := spec[f.field]
	if !ok || v == nil || v == "" {
		return
	}
	path := "spec." + f.field
	one := func(v any, path string) {
		r, err := ParseRefValue(v, f.defaultKind, namespace)
		if err != nil {
			fail(Problem{Path: path, Message: refMessage(err, f)})
			return
		}
		yield(r)
	}
	if items, ok := v.([]any); ok {
		for i, it := range items {
			one(it, path+"["+itoa(i)+"]")
		}
		return
	}
	one(v, path)
}

func refMessage(err error, f relationField) string {
	msg := greenroom.ErrorMessage(err)
	if f.defaultKind == "" {
		msg += "; spec." + f.field + " has no default kind, so each reference must name one"
	}
	return msg
}

// StitchedRelations returns the relations array Backstage's stitcher attaches
// to the entity self: the relations in rels whose source is self (compared by
// canonical ref), one per type and target, sorted by type and then targetRef.
// It is never nil, so that an entity with no relations gets "relations": [].
func StitchedRelations(self greenroom.EntityRef, rels []Relation) []Relation {
	key := self.String()
	out := []Relation{}
	seen := map[[2]string]bool{}
	for _, r := range rels {
		if r.Source.String() != key {
			continue
		}
		k := [2]string{r.Type, r.Target.String()}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Relation) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Target.String(), b.Target.String()))
	})
	return out
}
