package yamltree

// Limits bound what one parse accepts. A zero field takes its value from
// DefaultLimits, so the zero Limits is safe; there is no way to turn a
// limit off.
type Limits struct {
	// MaxBytes is the size of the input.
	MaxBytes int
	// MaxNodes is the number of values one parse produces over all its
	// documents, alias expansions included. A Budget can bound several
	// parses together as well.
	MaxNodes int
	// MaxDepth is the nesting of mappings and lists.
	MaxDepth int
	// MaxStructural is the number of structural characters
	// ([]{},:-?'"&*!|>%@ and newlines) in the input, checked before
	// parsing. The parser makes about one token, event and node per
	// structural character at most, so this bounds its time and memory:
	// at the default, a flow list of 100,000 numbers takes about 0.2 s
	// and 170 MB allocated in all.
	MaxStructural int
	// MaxSiblings is the number of keys of one block mapping. Flow
	// mappings are bounded by MaxStructural only.
	MaxSiblings int
}

// DefaultLimits returns limits far above any hand-written file that keep
// hostile input (alias bombs, deep nesting) from costing more than a
// fraction of a second or a few hundred megabytes.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:      4 << 20,
		MaxNodes:      1_000_000,
		MaxDepth:      64,
		MaxStructural: 100_000,
		MaxSiblings:   5_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxStructural <= 0 {
		l.MaxStructural = d.MaxStructural
	}
	if l.MaxSiblings <= 0 {
		l.MaxSiblings = d.MaxSiblings
	}
	return l
}

// parserDepth is the nesting the parser accepts before it stops, counted
// apart for block and for flow collections: it builds its tree by
// recursion. It does not count levels as MaxDepth does (a list that is
// not indented under its key is no level to it), so it allows some slack;
// the exact limit, MaxDepth, is applied to the parsed tree, aliases
// included.
func (l Limits) parserDepth() int { return 4 * l.MaxDepth }

// Budget bounds the nodes of several parses together, such as every file
// read while loading one configuration. The zero Budget allows
// DefaultLimits().MaxNodes. A Budget is not safe for concurrent use.
type Budget struct {
	max, used int
}

// NewBudget returns a Budget of maxNodes nodes over all the parses it is
// passed to; zero or less means DefaultLimits().MaxNodes.
func NewBudget(maxNodes int) *Budget {
	return &Budget{max: maxNodes}
}

// take charges n nodes and reports whether the budget still holds, with
// its limit.
func (b *Budget) take(n int) (ok bool, limit int) {
	limit = b.max
	if limit <= 0 {
		limit = DefaultLimits().MaxNodes
	}
	b.used += n
	return b.used <= limit, limit
}
