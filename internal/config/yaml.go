package config

import (
	"errors"

	"greenroom/internal/yamltree"
)

// Limits on what one Load accepts. They are far above any real
// app-config.yaml and keep hostile input (alias bombs, deep nesting) from
// costing more than a fraction of a second or a few hundred megabytes.
const (
	maxFileBytes  = 4 << 20   // per file, including $file and $include targets
	maxNodes      = 1_000_000 // values produced by one Load, alias expansions included
	maxDepth      = 64        // nesting of maps and lists
	maxIncludes   = 10        // nesting of $include
	maxStructural = 100_000   // structural characters per file (see yamltree.Limits)
	maxSiblings   = 5_000     // keys of one block mapping
)

// yamlLimits applies the limits above to each file; maxNodes also bounds
// all the files of one Load together, through the loader's budget.
var yamlLimits = yamltree.Limits{
	MaxBytes:      maxFileBytes,
	MaxNodes:      maxNodes,
	MaxDepth:      maxDepth,
	MaxStructural: maxStructural,
	MaxSiblings:   maxSiblings,
}

// parseYAML parses one YAML (or JSON) file, which holds at most one
// document, into a node tree. It returns nil without problems for an empty
// file, and nil with a problem located in file when it cannot be parsed.
func parseYAML(file string, data []byte, b *yamltree.Budget, ps *problems) *node {
	docs, err := yamltree.ParseDocuments(file, data, yamlLimits, b)
	if err != nil {
		var ye *yamltree.Error
		if errors.As(err, &ye) {
			ps.add(SeverityError, fromPos(ye.Pos), "", ye.Message)
		} else {
			ps.add(SeverityError, pos{file: file}, "", err.Error())
		}
		return nil
	}
	switch len(docs) {
	case 0:
		return nil
	case 1:
	default:
		ps.add(SeverityError, fromPos(docs[1].Pos()), "", "a config file holds one YAML document; document 2 is extra")
		return nil
	}
	n := fromTree(docs[0])
	n.pos = pos{file: file, line: 1, col: 1}
	return n
}

func fromPos(p yamltree.Pos) pos { return pos{file: p.File, line: p.Line, col: p.Column} }

// fromTree copies a parsed tree into config nodes, which transforms,
// merges and overrides then rework. Values shared by aliases become
// copies; the parse charged them to the budget as such.
func fromTree(t *yamltree.Node) *node {
	n := &node{kind: t.Kind(), pos: fromPos(t.Pos())}
	switch n.kind {
	case kindBool:
		n.b = t.Bool()
	case kindInt:
		n.i = t.Int()
	case kindFloat:
		n.f = t.Float()
	case kindString:
		n.s = t.Str()
	case kindMap:
		n.vals = make(map[string]*node, t.Len())
		for k, v := range t.Entries() {
			n.set(k, fromTree(v))
		}
	case kindSeq:
		n.items = make([]*node, 0, t.Len())
		for _, v := range t.Items() {
			n.items = append(n.items, fromTree(v))
		}
	}
	return n
}
