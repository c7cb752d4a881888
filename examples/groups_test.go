package examples_test

import (
	"fmt"
	"slices"
	"sort"

	"github.com/google/go-cmp/cmp"
)

// checkGroups: the groups form one tree under a single organization;
// spec.parent and spec.children agree; every team has people; and where a
// group lists spec.members, they are exactly the users whose spec.memberOf
// names it.
func checkGroups(c *catalog) []error {
	var errs []error
	var roots []*entity
	memberOf := map[*entity][]string{} // group -> users naming it
	for _, e := range c.entities {
		switch e.Kind {
		case "User":
			gs := c.related(e, "memberOf")
			if len(gs) == 0 {
				errs = append(errs, fmt.Errorf("%v: spec.memberOf names no existing group", e))
			}
			for _, g := range gs {
				memberOf[g] = append(memberOf[g], e.ref().String())
			}
		case "Group":
			if _, has := e.Spec["parent"]; !has {
				roots = append(roots, e)
			}
			for _, p := range c.related(e, "parent") {
				if !slices.Contains(c.related(p, "children"), e) {
					errs = append(errs, fmt.Errorf("%v: its parent %v does not list it in spec.children", e, p.ref()))
				}
			}
			for _, ch := range c.related(e, "children") {
				if ps := c.related(ch, "parent"); len(ps) != 1 || ps[0] != e {
					errs = append(errs, fmt.Errorf("%v: lists child %v, whose spec.parent is not this group", e, ch.ref()))
				}
			}
		}
	}
	if len(roots) != 1 {
		var names []string
		for _, r := range roots {
			names = append(names, r.ref().String())
		}
		return append(errs, fmt.Errorf("groups without a parent: %v; want exactly one root", names))
	}
	root := roots[0]
	if root.Spec["type"] != "organization" {
		errs = append(errs, fmt.Errorf("root group %v has type %v, want organization", root, root.Spec["type"]))
	}
	reached := map[*entity]bool{}
	var visit func(*entity)
	visit = func(g *entity) {
		if reached[g] {
			errs = append(errs, fmt.Errorf("group %v is reached twice from the root: the hierarchy has a cycle", g.ref()))
			return
		}
		reached[g] = true
		for _, ch := range c.related(g, "children") {
			visit(ch)
		}
	}
	visit(root)
	for _, g := range c.entities {
		if g.Kind != "Group" {
			continue
		}
		if !reached[g] {
			errs = append(errs, fmt.Errorf("%v is not under the root group %v", g, root.ref()))
		}
		if g.Spec["type"] == "team" && len(memberOf[g]) == 0 {
			errs = append(errs, fmt.Errorf("%v is a team without members", g))
		}
		if _, listed := g.Spec["members"]; !listed {
			continue
		}
		var members []string
		for _, r := range refsOf(g, "members") {
			if c.byRef[r] == nil {
				members = append(members, r.String()+" (missing)")
			} else {
				members = append(members, r.String())
			}
		}
		want := slices.Clone(memberOf[g])
		sort.Strings(want)
		sort.Strings(members)
		if diff := cmp.Diff(want, members); diff != "" {
			errs = append(errs, fmt.Errorf("%v: spec.members disagrees with the users' spec.memberOf (-memberOf +members):\n%s", g, diff))
		}
	}
	return errs
}
