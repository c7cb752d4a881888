package config

// merge lays over on top of base and returns the result, following
// Backstage's ConfigReader: when both values are mappings they are merged
// key by key, recursively; otherwise (lists, scalars, null, or a mapping
// meeting a non-mapping) the value from over replaces the one from base.
// Neither input is modified.
func merge(base, over *node) *node {
	if over == nil {
		return base
	}
	if base == nil || base.kind != kindMap || over.kind != kindMap {
		return over
	}
	out := newMap(over.pos)
	for _, k := range base.keys {
		out.set(k, base.vals[k])
	}
	for _, k := range over.keys {
		out.set(k, merge(out.vals[k], over.vals[k]))
	}
	return out
}
