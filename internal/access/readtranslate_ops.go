package access

// The comparison operators of the read-policy translator (readtranslate.go)
// and the normal form its filters are put in.

import (
	"encoding/json"
	"fmt"
	"slices"

	cedar "github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"

	"greenroom/internal/catalog/query"
)

// lowerLiteral refuses a literal string (or entity uid, or set of them)
// with capitals compared with the resource: entity values are lowercase,
// so it could never match.
func lowerLiteral(n xast.IsNode) error {
	var vals []cedar.Value
	switch x := n.(type) {
	case xast.NodeValue:
		vals = append(vals, x.Value)
		if s, ok := x.Value.(cedar.Set); ok {
			vals = s.Slice()
		}
	case xast.NodeTypeSet:
		for _, e := range x.Elements {
			if ev, ok := e.(xast.NodeValue); ok {
				vals = append(vals, ev.Value)
			}
		}
	}
	for _, v := range vals {
		var s string
		switch v := v.(type) {
		case cedar.String:
			s = string(v)
		case cedar.EntityUID:
			s = string(v.ID)
		}
		if s != query.Lower(s) {
			return refuse(n, "entity values are lowercase: write %q", query.Lower(s))
		}
	}
	return nil
}

// nonEmptyKeys are the keys every catalog entity has one non-empty value
// for: the catalog refuses an entity without a valid kind, namespace (a
// missing one is "default") and name.
var nonEmptyKeys = map[string]bool{"kind": true, "metadata.namespace": true, "metadata.name": true}

// eqStr is where string attribute a equals the lowercase s.
func eqStr(a rval, s string) bf {
	switch {
	case s != "":
		return leaf(query.In(a.key, s))
	case nonEmptyKeys[a.key]:
		return never
	}
	return and(a.def, or(leaf(query.In(a.key, "")), not(leaf(query.Prefix(a.key, "")))))
}

func (t *translator) equals(n, l, r xast.IsNode) (cond, error) {
	a, b, err := t.exprs(l, r)
	if err != nil {
		return failing, err
	}
	if a.kind == vConst && b.kind == vConst { // resource.integration, say
		if !a.known() || !b.known() {
			return failing, nil
		}
		return constCond(a.v.Equal(b.v)), nil
	}
	other := r
	if a.kind == vConst {
		a, b, other = b, a, l
	}
	if b.kind != vConst {
		return failing, refuse(n, "two resource attributes are compared; compare an attribute with a value")
	}
	if err := lowerLiteral(other); err != nil {
		return failing, err
	}
	switch a.kind {
	case vStr:
		if !b.known() {
			return failing, nil
		}
		T := never
		if s, ok := b.v.(cedar.String); ok && string(s) == query.Lower(string(s)) {
			T = eqStr(a, string(s))
		}
		return cond{T: T, F: and(a.def, not(T))}, nil
	case vEntity:
		if !b.known() {
			return failing, nil
		}
		u, ok := b.v.(cedar.EntityUID)
		if !ok {
			return constCond(false), nil
		}
		T, err := t.refFilter(u, other)
		if err != nil && t.env == nil {
			return failing, refuse(n, "%v", err)
		}
		return cond{T: T, F: not(T)}, nil
	case vBool:
		if !b.known() {
			return failing, nil
		}
		x, ok := b.v.(cedar.Boolean)
		switch {
		case !ok:
			return cond{T: never, F: or(a.c.T, a.c.F)}, nil
		case bool(x):
			return a.c, nil
		}
		return cond{T: a.c.F, F: a.c.T}, nil
	}
	return failing, refuse(n, "sets and records of the resource are compared with contains, containsAny, containsAll, isEmpty and has, not ==")
}

func (t *translator) like(v xast.NodeTypeLike) (cond, error) {
	a, err := t.expr(v.Arg)
	if err != nil {
		return failing, err
	}
	if a.kind != vStr {
		return failing, refuse(v, "like applies to a string attribute of the resource")
	}
	raw, err := v.Value.MarshalJSON()
	if err != nil {
		return failing, fmt.Errorf("access: pattern: %w", err)
	}
	var comps []json.RawMessage
	if err := json.Unmarshal(raw, &comps); err != nil {
		return failing, fmt.Errorf("access: pattern: %w", err)
	}
	var lits []string
	var wild []bool
	for _, c := range comps {
		var lit struct{ Literal *string }
		if json.Unmarshal(c, &lit) == nil && lit.Literal != nil {
			lits, wild = append(lits, *lit.Literal), append(wild, false)
		} else {
			lits, wild = append(lits, ""), append(wild, true)
		}
	}
	var T bf
	switch {
	case len(comps) == 0:
		T = eqStr(a, "")
	case len(comps) == 1 && wild[0]:
		T = a.def
	case len(comps) == 1:
		T = eqStr(a, lits[0])
	case len(comps) == 2 && !wild[0] && wild[1]:
		T = leaf(query.Prefix(a.key, lits[0]))
	default:
		return failing, refuse(v, "only exact and prefix patterns (\"abc\", \"abc*\") translate into a catalog filter")
	}
	for _, l := range lits {
		if l != query.Lower(l) {
			return failing, refuse(v, "entity values are lowercase: write the pattern in lowercase")
		}
	}
	return cond{T: T, F: and(a.def, not(T))}, nil
}

// strings of a known constant set; ok false when it is not a set.
func setStrings(v rval) (vals []string, other bool, ok bool) {
	s, isSet := v.v.(cedar.Set)
	if !isSet {
		return nil, false, false
	}
	for e := range s.All() {
		str, isStr := e.(cedar.String)
		if !isStr || string(str) != query.Lower(string(str)) {
			other = true // never one of an entity's (lowercase, string) values
			continue
		}
		vals = append(vals, string(str))
	}
	return vals, other, true
}

func (t *translator) contains(n, l, r xast.IsNode) (cond, error) {
	a, b, err := t.exprs(l, r)
	if err != nil {
		return failing, err
	}
	switch {
	case a.kind == vSet && b.kind == vConst:
		if err := lowerLiteral(r); err != nil {
			return failing, err
		}
		if !b.known() {
			return failing, nil
		}
		T := never
		if s, ok := b.v.(cedar.String); ok && string(s) == query.Lower(string(s)) {
			T = leaf(query.In(a.key, string(s)))
		}
		return cond{T: T, F: not(T)}, nil
	case a.kind == vConst && b.kind == vStr:
		if err := lowerLiteral(l); err != nil {
			return failing, err
		}
		if !a.known() {
			return failing, nil
		}
		vals, _, ok := setStrings(a)
		if !ok {
			return failing, nil // contains on a non-set fails to evaluate
		}
		T := never
		for _, s := range vals {
			T = or(T, eqStr(b, s))
		}
		return cond{T: T, F: and(b.def, not(T))}, nil
	}
	return failing, refuse(n, "contains translates as resource.tags.contains(value) or [values].contains(resource attribute)")
}

func (t *translator) containsSet(n, l, r xast.IsNode, all bool) (cond, error) {
	a, b, err := t.exprs(l, r)
	if err != nil {
		return failing, err
	}
	lit := r
	if a.kind == vConst && !all {
		a, b, lit = b, a, l // containsAny is symmetric
	}
	if a.kind != vSet || b.kind != vConst {
		return failing, refuse(n, "containsAny and containsAll translate as resource.tags.containsAny/containsAll([values])")
	}
	if err := lowerLiteral(lit); err != nil {
		return failing, err
	}
	if !b.known() {
		return failing, nil
	}
	vals, other, ok := setStrings(b)
	if !ok {
		return failing, nil
	}
	var T bf
	if all {
		T = always
		if other {
			T = never
		}
		for _, s := range vals {
			T = and(T, leaf(query.In(a.key, s)))
		}
	} else {
		T = never
		if len(vals) > 0 {
			T = leaf(query.In(a.key, vals...))
		}
	}
	return cond{T: T, F: not(T)}, nil
}

func (t *translator) in(n, l, r xast.IsNode) (cond, error) {
	a, b, err := t.exprs(l, r)
	if err != nil {
		return failing, err
	}
	if a.kind != vEntity || b.kind != vConst {
		return failing, refuse(n, "in translates as resource in Entity::\"kind:namespace/name\" (or a set of them)")
	}
	if err := lowerLiteral(r); err != nil {
		return failing, err
	}
	if !b.known() {
		return failing, nil
	}
	var uids []cedar.EntityUID
	switch v := b.v.(type) {
	case cedar.EntityUID:
		uids = append(uids, v)
	case cedar.Set:
		for e := range v.All() {
			u, ok := e.(cedar.EntityUID)
			if !ok {
				return failing, nil // a type error
			}
			uids = append(uids, u)
		}
	default:
		return failing, nil
	}
	T := never
	for _, u := range uids {
		f, err := t.refFilter(u, r)
		if err != nil && t.env == nil {
			return failing, refuse(n, "%v", err)
		}
		T = or(T, f) // at run time an unusable uid is simply no entity
	}
	return cond{T: T, F: not(T)}, nil
}

// normalize rewrites f for the store's planner without changing what it
// selects: negations pushed down to the predicates (De Morgan), nested
// all-of and any-of flattened, and an any-of's value predicates on one key
// merged into one, so that a scope reads as a conjunction of simple
// conditions, as a hand-written one would.
func normalize(f query.Filter) query.Filter {
	return nnf(f, false)
}

func nnf(f query.Filter, negate bool) query.Filter {
	switch f.Op {
	case query.OpNot:
		if len(f.Sub) == 1 {
			return nnf(f.Sub[0], !negate)
		}
	case query.OpAll, query.OpAny:
		if negate && f.Op == query.OpAll {
			// not(a and b) stays so: the planner reads it as an excluded
			// set, such as one restricted entity.
			return query.Not(nnf(f, false))
		}
		op := f.Op
		if negate {
			op = query.OpAll
		}
		var sub []query.Filter
		for _, s := range f.Sub {
			n := nnf(s, negate)
			if n.Op == op {
				sub = append(sub, n.Sub...)
			} else {
				sub = append(sub, n)
			}
		}
		if op == query.OpAny {
			sub = mergeValues(sub)
		}
		if len(sub) == 1 {
			return sub[0]
		}
		return query.Filter{Op: op, Sub: sub}
	}
	if negate {
		return query.Not(f)
	}
	return f
}

// mergeValues merges the value predicates of one key among alternatives.
func mergeValues(sub []query.Filter) []query.Filter {
	at := map[string]int{}
	var out []query.Filter
	for _, s := range sub {
		if s.Op == query.OpMatch && s.Values != nil {
			key := query.Lower(s.Key)
			if i, ok := at[key]; ok {
				out[i].Values = append(out[i].Values, s.Values...)
				continue
			}
			at[key] = len(out)
			s.Values = slices.Clone(s.Values)
		}
		out = append(out, s)
	}
	return out
}

// exprs evaluates both operands of a binary operator.
func (t *translator) exprs(l, r xast.IsNode) (rval, rval, error) {
	a, err := t.expr(l)
	if err != nil {
		return rval{}, rval{}, err
	}
	b, err := t.expr(r)
	if err != nil {
		return rval{}, rval{}, err
	}
	return a, b, nil
}
