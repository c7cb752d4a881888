package access

import (
	"fmt"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	cedarast "github.com/cedar-policy/cedar-go/ast"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/eval"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// The translator of read policies into filters (see readpolicy.go).

// bf is a filter that may be known to hold always or never, so that
// constant conditions fold away and an unrestricted caller gets no filter
// at all.
type bf struct {
	c int8 // 1 always, -1 never, 0 f decides
	f query.Filter
}

var (
	always = bf{c: 1}
	never  = bf{c: -1}
)

func leaf(f query.Filter) bf { return bf{f: f} }

func and(a, b bf) bf {
	switch {
	case a.c < 0 || b.c < 0:
		return never
	case a.c > 0:
		return b
	case b.c > 0:
		return a
	}
	var sub []query.Filter
	for _, x := range []query.Filter{a.f, b.f} {
		if x.Op == query.OpAll {
			sub = append(sub, x.Sub...)
		} else {
			sub = append(sub, x)
		}
	}
	return leaf(query.All(sub...))
}

func or(a, b bf) bf {
	switch {
	case a.c > 0 || b.c > 0:
		return always
	case a.c < 0:
		return b
	case b.c < 0:
		return a
	}
	var sub []query.Filter
	for _, x := range []query.Filter{a.f, b.f} {
		if x.Op == query.OpAny {
			sub = append(sub, x.Sub...)
		} else {
			sub = append(sub, x)
		}
	}
	return leaf(query.Any(sub...))
}

func not(a bf) bf {
	switch {
	case a.c != 0:
		return bf{c: -a.c}
	case a.f.Op == query.OpNot && len(a.f.Sub) == 1:
		return leaf(a.f.Sub[0])
	}
	return leaf(query.Not(a.f))
}

// cond is a boolean expression as filters: T where it is true, F where it
// is false; where neither holds it fails to evaluate.
type cond struct{ T, F bf }

var failing = cond{T: never, F: never}

func constCond(b bool) cond {
	if b {
		return cond{T: always, F: never}
	}
	return cond{T: never, F: always}
}

// vkind says what an expression is to the translator.
type vkind uint8

const (
	vConst  vkind = iota // no resource in it: a value, an error, or (checking) unknown
	vBool                // a boolean on the resource
	vStr                 // a string attribute of the resource
	vSet                 // the resource's tags
	vRecord              // the resource's annotations or labels
	vEntity              // the resource itself
)

type rval struct {
	kind vkind
	v    cedar.Value // vConst; nil when unknown (checking) or failing
	err  error       // vConst: evaluating it fails
	c    cond        // vBool
	key  string      // vStr, vSet: search key; vRecord: key prefix
	def  bf          // vStr: where the attribute exists
}

func (v rval) known() bool { return v.kind == vConst && v.v != nil && v.err == nil }

// translator turns read policies into filters for one principal, or, with
// env nil, checks at load that they translate for any.
type translator struct {
	env        *eval.Env
	restricted []greenroom.EntityRef
}

// refusal is a read policy that does not translate.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(n xast.IsNode, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...) + " in `" + describe(n) + "`"}
}

// describe renders n as Cedar text, for error messages.
func describe(n xast.IsNode) string {
	p := xast.Permit()
	p.Conditions = []xast.ConditionType{{Condition: xast.ConditionWhen, Body: n}}
	text := string(cedar.NewPolicyFromAST((*cedarast.Policy)(p)).MarshalCedar())
	if i := strings.Index(text, "when {"); i >= 0 {
		text = strings.TrimSuffix(strings.TrimSpace(text[i+len("when {"):]), "};")
		text = strings.TrimSuffix(strings.TrimSpace(text), "}")
	}
	return strings.Join(strings.Fields(text), " ")
}

// mentionsResource reports whether n reads the resource other than
// through what every entity has alike (resource.integration, which is
// "", and resource has <attribute>): such a subtree is a constant,
// evaluated against a stand-in entity.
func mentionsResource(n xast.IsNode) bool {
	isResource := func(x xast.IsNode) bool {
		v, ok := x.(xast.NodeTypeVariable)
		return ok && v.Name == "resource"
	}
	found := false
	xast.Inspect(xast.NewNode(n), func(x xast.IsNode) bool {
		switch v := x.(type) {
		case xast.NodeTypeAccess:
			if isResource(v.Arg) && v.Value == "integration" {
				return false
			}
		case xast.NodeTypeHas:
			if isResource(v.Arg) {
				return false
			}
		}
		if isResource(x) {
			found = true
		}
		return !found
	})
	return found
}

// literal reports whether n reads no variable (a literal, or values
// computed from literals).
func literal(n xast.IsNode) bool {
	vars := false
	xast.Inspect(xast.NewNode(n), func(x xast.IsNode) bool {
		if _, ok := x.(xast.NodeTypeVariable); ok {
			vars = true
		}
		return !vars
	})
	return !vars
}

// standIn is the entity resource-free subtrees are evaluated against: it
// has every attribute, and only integration's value is ever read.
func standIn(e *Engine) (cedar.EntityUID, cedar.Entity) {
	return e.resourceEntity(Resource{Type: "entity", Ref: "__greenroom::any"})
}

// appliesToRead reports whether p's action scope takes in Action::"read"
// (which has no parent action).
func appliesToRead(p *xast.Policy) bool {
	read := cedar.NewEntityUID("Action", cedar.String(ActionRead))
	switch s := p.Action.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return s.Entity == read
	case xast.ScopeTypeIn:
		return s.Entity == read
	case xast.ScopeTypeInSet:
		return slices.Contains(s.Entities, read)
	}
	return false
}

// policy returns where p is satisfied: its scopes match and every when
// condition is true and every unless condition false.
func (t *translator) policy(p *xast.Policy) (bf, error) {
	sat, err := t.resourceScope(p.Resource)
	if err != nil {
		return never, err
	}
	if t.env != nil && !t.principalScope(p.Principal) {
		return never, nil
	}
	for _, c := range p.Conditions {
		x, err := t.boolean(c.Body)
		if err != nil {
			return never, err
		}
		if c.Condition == xast.ConditionWhen {
			sat = and(sat, x.T)
		} else {
			sat = and(sat, x.F)
		}
	}
	return sat, nil
}

func (t *translator) principalScope(s xast.IsPrincipalScopeNode) bool {
	puid, _ := t.env.Principal.(cedar.EntityUID)
	in := func(target cedar.EntityUID) bool {
		if puid == target {
			return true
		}
		e, ok := t.env.Entities.Get(puid)
		return ok && e.Parents.Contains(target)
	}
	switch s := s.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return puid == s.Entity
	case xast.ScopeTypeIn:
		return in(s.Entity)
	case xast.ScopeTypeIs:
		return puid.Type == s.Type
	case xast.ScopeTypeIsIn:
		return puid.Type == s.Type && in(s.Entity)
	}
	return false
}

func (t *translator) resourceScope(s xast.IsResourceScopeNode) (bf, error) {
	switch s := s.(type) {
	case xast.ScopeTypeAll:
		return always, nil
	case xast.ScopeTypeEq:
		return t.refFilter(s.Entity, nil)
	case xast.ScopeTypeIn: // entities have no parents: in is ==
		return t.refFilter(s.Entity, nil)
	case xast.ScopeTypeIs:
		return constCond(s.Type == "Entity").T, nil
	case xast.ScopeTypeIsIn:
		if s.Type != "Entity" {
			return never, nil
		}
		return t.refFilter(s.Entity, nil)
	}
	return never, fmt.Errorf("unknown resource scope %T", s)
}

// refFilter selects the entity whose Cedar uid is u: Entity::"kind:ns/name".
// A uid no entity has (capitals, not a full ref) selects nothing; when
// checking a policy's literals (n the literal, or nil for its scope) it
// is refused instead, as the administrator's mistake it is.
func (t *translator) refFilter(u cedar.EntityUID, n xast.IsNode) (bf, error) {
	if u.Type != "Entity" {
		return never, nil
	}
	id := string(u.ID)
	r, err := greenroom.ParseEntityRef(id, "", "")
	var problem string
	switch {
	case id != query.Lower(id):
		problem = fmt.Sprintf("entity uids are lowercase refs: write Entity::%q", query.Lower(id))
	case err != nil || r.Kind == "" || r.Namespace == "":
		problem = fmt.Sprintf("Entity::%q is not a full entity ref (kind:namespace/name)", id)
	}
	if problem != "" {
		if t.env != nil {
			return never, nil
		}
		return never, &refusal{msg: problem}
	}
	return leaf(query.All(query.In("kind", r.Kind), query.In("metadata.namespace", r.Namespace), query.In("metadata.name", r.Name))), nil
}

// boolean translates a condition.
func (t *translator) boolean(n xast.IsNode) (cond, error) {
	v, err := t.expr(n)
	if err != nil {
		return failing, err
	}
	switch v.kind {
	case vBool:
		return v.c, nil
	case vConst:
		if !v.known() {
			return failing, nil
		}
		b, ok := v.v.(cedar.Boolean)
		if !ok {
			return failing, nil // a type error: the policy fails to evaluate
		}
		return constCond(bool(b)), nil
	}
	return failing, refuse(n, "a resource attribute that is not a boolean is used as a condition")
}

func (t *translator) constant(n xast.IsNode) rval {
	if t.env == nil {
		if !literal(n) {
			return rval{kind: vConst} // known only for a principal
		}
		v, err := eval.Eval(n, eval.Env{Entities: cedar.EntityMap{}}) // checked like any value, at load
		return rval{kind: vConst, v: v, err: err}
	}
	v, err := eval.Eval(n, *t.env)
	if err != nil {
		return rval{kind: vConst, err: err}
	}
	return rval{kind: vConst, v: v}
}

func (t *translator) expr(n xast.IsNode) (rval, error) {
	if !mentionsResource(n) {
		return t.constant(n), nil
	}
	switch v := n.(type) {
	case xast.NodeTypeVariable:
		return rval{kind: vEntity}, nil
	case xast.NodeTypeAccess:
		return t.access(v)
	case xast.NodeTypeHas:
		return t.has(v)
	case xast.NodeTypeAnd:
		l, r, err := t.pair(v.Left, v.Right)
		if err != nil {
			return rval{}, err
		}
		return rval{kind: vBool, c: cond{T: and(l.T, r.T), F: or(l.F, and(l.T, r.F))}}, nil
	case xast.NodeTypeOr:
		l, r, err := t.pair(v.Left, v.Right)
		if err != nil {
			return rval{}, err
		}
		return rval{kind: vBool, c: cond{T: or(l.T, and(l.F, r.T)), F: and(l.F, r.F)}}, nil
	case xast.NodeTypeNot:
		x, err := t.boolean(v.Arg)
		if err != nil {
			return rval{}, err
		}
		return rval{kind: vBool, c: cond{T: x.F, F: x.T}}, nil
	case xast.NodeTypeIfThenElse:
		c, err := t.boolean(v.If)
		if err != nil {
			return rval{}, err
		}
		a, b, err := t.pair(v.Then, v.Else)
		if err != nil {
			return rval{}, err
		}
		return rval{kind: vBool, c: cond{T: or(and(c.T, a.T), and(c.F, b.T)), F: or(and(c.T, a.F), and(c.F, b.F))}}, nil
	case xast.NodeTypeEquals:
		c, err := t.equals(n, v.Left, v.Right)
		return rval{kind: vBool, c: c}, err
	case xast.NodeTypeNotEquals:
		c, err := t.equals(n, v.Left, v.Right)
		return rval{kind: vBool, c: cond{T: c.F, F: c.T}}, err
	case xast.NodeTypeLike:
		c, err := t.like(v)
		return rval{kind: vBool, c: c}, err
	case xast.NodeTypeContains:
		c, err := t.contains(n, v.Left, v.Right)
		return rval{kind: vBool, c: c}, err
	case xast.NodeTypeContainsAny:
		c, err := t.containsSet(n, v.Left, v.Right, false)
		return rval{kind: vBool, c: c}, err
	case xast.NodeTypeContainsAll:
		c, err := t.containsSet(n, v.Left, v.Right, true)
		return rval{kind: vBool, c: c}, err
	case xast.NodeTypeIsEmpty:
		a, err := t.expr(v.Arg)
		if err != nil {
			return rval{}, err
		}
		if a.kind != vSet {
			return rval{}, refuse(n, "isEmpty applies to resource.tags")
		}
		empty := not(leaf(query.Prefix(a.key, "")))
		return rval{kind: vBool, c: cond{T: empty, F: not(empty)}}, nil
	case xast.NodeTypeIn:
		c, err := t.in(n, v.Left, v.Right)
		return rval{kind: vBool, c: c}, err
	case xast.NodeTypeIs:
		a, err := t.expr(v.Left)
		if err != nil {
			return rval{}, err
		}
		if a.kind != vEntity {
			return rval{}, refuse(n, "is applies to the resource")
		}
		return rval{kind: vBool, c: constCond(v.EntityType == "Entity")}, nil
	case xast.NodeTypeIsIn:
		a, err := t.expr(v.Left)
		if err != nil {
			return rval{}, err
		}
		if a.kind != vEntity {
			return rval{}, refuse(n, "is applies to the resource")
		}
		if v.EntityType != "Entity" {
			return rval{kind: vBool, c: constCond(false)}, nil
		}
		c, err := t.in(n, v.Left, v.Entity)
		return rval{kind: vBool, c: c}, err
	}
	return rval{}, refuse(n, "this operation on the resource does not translate into a catalog filter (use ==, !=, like \"prefix*\", contains, containsAny, containsAll, isEmpty, has, in, is, &&, ||, !, if)")
}

func (t *translator) pair(a, b xast.IsNode) (cond, cond, error) {
	x, err := t.boolean(a)
	if err != nil {
		return failing, failing, err
	}
	y, err := t.boolean(b)
	return x, y, err
}

func (t *translator) access(v xast.NodeTypeAccess) (rval, error) {
	base, err := t.expr(v.Arg)
	if err != nil {
		return rval{}, err
	}
	name := string(v.Value)
	switch base.kind {
	case vEntity:
		if key, ok := entityStringAttrs[name]; ok {
			return rval{kind: vStr, key: key, def: always}, nil
		}
		switch name {
		case "integration": // actions go through integrations, entities do not
			return rval{kind: vConst, v: cedar.String("")}, nil
		case "restricted":
			return rval{kind: vBool, c: t.restrictedCond()}, nil
		case "production":
			p := or(leaf(query.In(entityStringAttrs["lifecycle"], "production")), leaf(query.In(entityStringAttrs["environment"], "production")))
			return rval{kind: vBool, c: cond{T: p, F: not(p)}}, nil
		case "tags":
			return rval{kind: vSet, key: tagsKey}, nil
		case "annotations":
			return rval{kind: vRecord, key: annotationsPrefix}, nil
		case "labels":
			return rval{kind: vRecord, key: labelsPrefix}, nil
		}
		return rval{}, refuse(v, "entities have no attribute %q (they have %s)", name, entityAttrNames())
	case vRecord:
		if name != query.Lower(name) {
			return rval{}, refuse(v, "annotation and label keys are lowercase in policies: write %q", query.Lower(name))
		}
		key := base.key + name
		return rval{kind: vStr, key: key, def: leaf(query.Exists(key))}, nil
	}
	return rval{}, refuse(v, "only the resource's own attributes and its annotations' and labels' keys are read")
}

func (t *translator) has(v xast.NodeTypeHas) (rval, error) {
	base, err := t.expr(v.Arg)
	if err != nil {
		return rval{}, err
	}
	name := string(v.Value)
	switch base.kind {
	case vRecord:
		if name != query.Lower(name) {
			return rval{}, refuse(v, "annotation and label keys are lowercase in policies: write %q", query.Lower(name))
		}
		e := leaf(query.Exists(base.key + name))
		return rval{kind: vBool, c: cond{T: e, F: not(e)}}, nil
	}
	return rval{}, refuse(v, "has applies to the resource's annotations and labels")
}

func (t *translator) restrictedCond() cond {
	r := never
	for _, ref := range t.restricted {
		r = or(r, leaf(query.All(query.In("kind", ref.Kind), query.In("metadata.namespace", ref.Namespace), query.In("metadata.name", ref.Name))))
	}
	return cond{T: r, F: not(r)}
}
