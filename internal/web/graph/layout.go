package graph

import (
	"cmp"
	"math"
	"slices"
)

// Geometry of the diagram, in SVG user units (CSS pixels).
const (
	nodeW    = 200.0
	nodeH    = 44.0
	layerGap = 96.0 // between two columns of boxes, room for the edges
	margin   = 16.0
	gapNode  = 14.0 // between two boxes of a column
	gapDummy = 8.0  // between a box and an edge passing through its column
	gapLines = 6.0  // between two edges passing through a column
	lineSep  = 3.0  // between parallel lines of one pair of nodes
)

// maxDummies bounds the edge bends a layout may create; beyond it the
// layout is refused rather than slow.
const maxDummies = 200_000

// vertex is one box (node >= 0) or one point an edge passes through a
// column at (node == -1), of a layer.
type vertex struct {
	node     int
	layer    int
	order    int     // position in its layer, top to bottom
	h        float64 // height; 0 for edge points
	y        float64 // centre
	up, down []int   // neighbouring vertices in the previous and next layer
}

// line is one relation drawn between two nodes.
type line struct {
	edge     Edge // normalised: From has Type to To
	rel      relation
	reversed bool // drawn from To to From, to keep the layout acyclic
}

// ledge joins two nodes in increasing layers through a chain of vertices,
// carrying every relation between them.
type ledge struct {
	from, to int // node indexes; from's layer < to's
	lines    []line
	chain    []int // vertex ids from the from node to the to node
}

// diagram is a laid-out graph.
type diagram struct {
	g       Graph
	index   map[string]int // node index by key(ref)
	nodeV   []int          // vertex of each node
	verts   []vertex
	layers  [][]int
	edges   []*ledge
	loops   []line // relations of a node to itself
	used    []relation
	width   float64
	height  float64 // of the graph part, without the legend
	crosses int
}

// layout lays g out. g must have passed check.
func layout(g Graph, index map[string]int) (*diagram, error) {
	d := &diagram{g: g, index: index}
	n := len(g.Nodes)

	// Relations in their drawn direction, without duplicates.
	type pair struct{ a, b int }
	lines := map[pair][]line{}
	var pairs []pair
	seen := map[[3]string]bool{}
	usedRel := map[string]relation{}
	for _, e := range g.Edges {
		ne, rel := normalise(e)
		a, b := index[key(ne.From)], index[key(ne.To)]
		k := [3]string{key(ne.From), key(ne.To), ne.Type}
		if seen[k] {
			continue
		}
		seen[k] = true
		usedRel[rel.primary] = rel
		l := line{edge: ne, rel: rel}
		if a == b {
			d.loops = append(d.loops, l)
			continue
		}
		p := pair{a, b}
		if _, ok := lines[p]; !ok {
			pairs = append(pairs, p)
		}
		lines[p] = append(lines[p], l)
	}
	for _, r := range usedRel {
		d.used = append(d.used, r)
	}
	slices.SortFunc(d.used, func(a, b relation) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.primary, b.primary)) })

	// Break cycles: a depth-first search from the root, then from every
	// node in order, turns round each edge that closes a cycle.
	out := make([][]int, n)
	for _, p := range pairs {
		out[p.a] = append(out[p.a], p.b)
	}
	reversed := map[pair]bool{}
	state := make([]uint8, n) // 0 new, 1 on the stack, 2 done
	type frame struct{ v, next int }
	root := index[key(g.Root)]
	starts := append([]int{root}, seq(n)...)
	for _, s := range starts {
		if state[s] != 0 {
			continue
		}
		stack := []frame{{s, 0}}
		state[s] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == len(out[f.v]) {
				state[f.v] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			w := out[f.v][f.next]
			f.next++
			switch state[w] {
			case 0:
				state[w] = 1
				stack = append(stack, frame{w, 0})
			case 1:
				reversed[pair{f.v, w}] = true
			}
		}
	}
	dag := map[pair]*ledge{}
	for _, p := range pairs {
		q, rev := p, reversed[p]
		if rev {
			q = pair{p.b, p.a}
		}
		le, ok := dag[q]
		if !ok {
			le = &ledge{from: q.a, to: q.b}
			dag[q] = le
			d.edges = append(d.edges, le)
		}
		for _, l := range lines[p] {
			l.reversed = rev
			le.lines = append(le.lines, l)
		}
	}
	for _, le := range d.edges {
		slices.SortStableFunc(le.lines, func(a, b line) int { return cmp.Compare(a.rel.rank, b.rel.rank) })
	}

	layer := d.assignLayers(n)
	if err := d.buildVertices(layer); err != nil {
		return nil, err
	}
	d.order()
	d.place()
	return d, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// layerCap is the most boxes one column holds, so that a node with
// hundreds of neighbours makes several columns rather than one very tall.
func layerCap(n int) int {
	return max(12, int(math.Ceil(1.6*math.Sqrt(float64(n)))))
}

// assignLayers gives every node a column: longest-path layering (each
// node right of all its predecessors), filled in topological order into
// columns of at most layerCap boxes, then sources pulled right next to
// their successors where there is room.
func (d *diagram) assignLayers(n int) []int {
	preds := make([][]int, n)
	succs := make([][]int, n)
	indeg := make([]int, n)
	for _, le := range d.edges {
		succs[le.from] = append(succs[le.from], le.to)
		preds[le.to] = append(preds[le.to], le.from)
		indeg[le.to]++
	}
	topo := make([]int, 0, n)
	for v := range n {
		if indeg[v] == 0 {
			topo = append(topo, v)
		}
	}
	for i := 0; i < len(topo); i++ {
		for _, w := range succs[topo[i]] {
			if indeg[w]--; indeg[w] == 0 {
				topo = append(topo, w)
			}
		}
	}
	lb := make([]int, n)
	for _, v := range topo {
		for _, w := range succs[v] {
			lb[w] = max(lb[w], lb[v]+1)
		}
	}
	byLB := slices.Clone(topo)
	pos := make([]int, n)
	for i, v := range topo {
		pos[v] = i
	}
	slices.SortStableFunc(byLB, func(a, b int) int { return cmp.Or(cmp.Compare(lb[a], lb[b]), cmp.Compare(pos[a], pos[b])) })

	capacity := layerCap(n)
	layer := make([]int, n)
	count := map[int]int{}
	for _, v := range byLB {
		l := 0
		for _, u := range preds[v] {
			l = max(l, layer[u]+1)
		}
		for count[l] >= capacity {
			l++
		}
		layer[v] = l
		count[l]++
	}
	for i := len(byLB) - 1; i >= 0; i-- {
		v := byLB[i]
		if len(preds[v]) > 0 || len(succs[v]) == 0 {
			continue
		}
		target := math.MaxInt
		for _, w := range succs[v] {
			target = min(target, layer[w]-1)
		}
		for l := target; l > layer[v]; l-- {
			if count[l] < capacity {
				count[layer[v]]--
				layer[v] = l
				count[l]++
				break
			}
		}
	}
	// Close the columns no node uses.
	usedL := slices.Compact(slices.Sorted(func(yield func(int) bool) {
		for _, l := range layer {
			if !yield(l) {
				return
			}
		}
	}))
	renum := make(map[int]int, len(usedL))
	for i, l := range usedL {
		renum[l] = i
	}
	for v := range layer {
		layer[v] = renum[layer[v]]
	}
	return layer
}

// buildVertices makes a vertex per node and per column an edge crosses.
func (d *diagram) buildVertices(layer []int) error {
	nl := 0
	for _, l := range layer {
		nl = max(nl, l+1)
	}
	d.layers = make([][]int, nl)
	d.nodeV = make([]int, len(layer))
	add := func(v vertex) int {
		id := len(d.verts)
		v.order = len(d.layers[v.layer])
		d.verts = append(d.verts, v)
		d.layers[v.layer] = append(d.layers[v.layer], id)
		return id
	}
	for i, l := range layer {
		d.nodeV[i] = add(vertex{node: i, layer: l, h: nodeH})
	}
	dummies := 0
	for _, le := range d.edges {
		a, b := layer[le.from], layer[le.to]
		dummies += b - a - 1
		if dummies > maxDummies {
			return errTooComplex
		}
		le.chain = append(le.chain, d.nodeV[le.from])
		for l := a + 1; l < b; l++ {
			le.chain = append(le.chain, add(vertex{node: -1, layer: l, h: float64(len(le.lines)-1) * lineSep}))
		}
		le.chain = append(le.chain, d.nodeV[le.to])
		for i := 1; i < len(le.chain); i++ {
			u, w := le.chain[i-1], le.chain[i]
			d.verts[u].down = append(d.verts[u].down, w)
			d.verts[w].up = append(d.verts[w].up, u)
		}
	}
	return nil
}

// orderSweeps is how many times crossing reduction sweeps the layers each
// way.
const orderSweeps = 12

// order reduces edge crossings: barycenter sweeps down and up the layers,
// keeping the best order seen.
func (d *diagram) order() {
	best := d.snapshot()
	bestC := d.crossings()
	bary := make([]float64, len(d.verts))
	sweep := func(l int, useUp bool) {
		ids := d.layers[l]
		for _, v := range ids {
			nb := d.verts[v].down
			if useUp {
				nb = d.verts[v].up
			}
			if len(nb) == 0 {
				bary[v] = float64(d.verts[v].order)
				continue
			}
			s := 0.0
			for _, u := range nb {
				s += float64(d.verts[u].order)
			}
			bary[v] = s / float64(len(nb))
		}
		slices.SortStableFunc(ids, func(a, b int) int {
			return cmp.Or(cmp.Compare(bary[a], bary[b]), cmp.Compare(d.verts[a].order, d.verts[b].order))
		})
		for i, v := range ids {
			d.verts[v].order = i
		}
	}
	for range orderSweeps {
		for l := 1; l < len(d.layers); l++ {
			sweep(l, true)
		}
		for l := len(d.layers) - 2; l >= 0; l-- {
			sweep(l, false)
		}
		if c := d.crossings(); c < bestC {
			best, bestC = d.snapshot(), c
			if c == 0 {
				break
			}
		}
	}
	d.restore(best)
	d.crosses = bestC
}

func (d *diagram) snapshot() [][]int {
	s := make([][]int, len(d.layers))
	for i, l := range d.layers {
		s[i] = slices.Clone(l)
	}
	return s
}

func (d *diagram) restore(s [][]int) {
	for i, l := range s {
		d.layers[i] = l
		for j, v := range l {
			d.verts[v].order = j
		}
	}
}

// crossings counts the crossings between every pair of adjacent layers
// with Barth, Jünger and Mutzel's accumulator tree, O(E log V).
func (d *diagram) crossings() int {
	total := 0
	var segs [][2]int
	for l := 0; l+1 < len(d.layers); l++ {
		segs = segs[:0]
		for _, u := range d.layers[l] {
			for _, w := range d.verts[u].down {
				segs = append(segs, [2]int{d.verts[u].order, d.verts[w].order})
			}
		}
		slices.SortFunc(segs, func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
		m := len(d.layers[l+1])
		first := 1
		for first < m {
			first <<= 1
		}
		tree := make([]int, 2*first-1)
		first--
		for _, s := range segs {
			i := s[1] + first
			tree[i]++
			for i > 0 {
				if i%2 == 1 {
					total += tree[i+1]
				}
				i = (i - 1) / 2
				tree[i]++
			}
		}
	}
	return total
}

// placeSweeps is how many times coordinate assignment sweeps each way.
const placeSweeps = 10

// place gives every vertex its y: each sweep moves the vertices of a layer
// as close as it can to the mean of their neighbours, keeping their order
// and the gaps between them (an isotonic regression, solved exactly by
// pool-adjacent-violators), so boxes never overlap. Columns are x.
func (d *diagram) place() {
	for _, ids := range d.layers {
		y := 0.0
		for i, v := range ids {
			if i > 0 {
				y += d.sep(ids[i-1], v)
			}
			d.verts[v].y = y
		}
		for _, v := range ids {
			d.verts[v].y -= y / 2
		}
	}
	want := make([]float64, 0, 64)
	weight := make([]float64, 0, 64)
	pass := func(l int, up, down bool) {
		ids := d.layers[l]
		want, weight = want[:0], weight[:0]
		for _, v := range ids {
			vx := &d.verts[v]
			s, k := 0.0, 0
			if up {
				for _, u := range vx.up {
					s += d.verts[u].y
					k++
				}
			}
			if down {
				for _, u := range vx.down {
					s += d.verts[u].y
					k++
				}
			}
			w := 1.0
			if vx.node < 0 {
				w = 4 // keep long edges straight
			}
			if k == 0 {
				want, weight = append(want, vx.y), append(weight, 0.05)
				continue
			}
			want, weight = append(want, s/float64(k)), append(weight, w)
		}
		d.regress(ids, want, weight)
	}
	for i := range placeSweeps {
		both := i >= placeSweeps/2
		for l := 1; l < len(d.layers); l++ {
			pass(l, true, both)
		}
		for l := len(d.layers) - 2; l >= 0; l-- {
			pass(l, both, true)
		}
	}
	top, bottom := math.Inf(1), math.Inf(-1)
	for _, v := range d.verts {
		top = min(top, v.y-v.h/2)
		bottom = max(bottom, v.y+v.h/2)
	}
	for i := range d.verts {
		d.verts[i].y += margin - top
	}
	d.height = bottom - top + 2*margin
	d.width = 2*margin + float64(len(d.layers))*nodeW + float64(max(0, len(d.layers)-1))*layerGap
}

// sep is the least distance between the centres of two vertices that are
// next to each other in a layer.
func (d *diagram) sep(a, b int) float64 {
	va, vb := d.verts[a], d.verts[b]
	gap := gapLines
	switch {
	case va.node >= 0 && vb.node >= 0:
		gap = gapNode
	case va.node >= 0 || vb.node >= 0:
		gap = gapDummy
	}
	return va.h/2 + gap + vb.h/2
}

// regress moves the layer's vertices to the positions closest to want (in
// weighted least squares) that keep their order and separations.
func (d *diagram) regress(ids []int, want, weight []float64) {
	type block struct {
		sum, w float64
		n      int
	}
	off := make([]float64, len(ids))
	for i := 1; i < len(ids); i++ {
		off[i] = off[i-1] + d.sep(ids[i-1], ids[i])
	}
	blocks := make([]block, 0, len(ids))
	for i := range ids {
		b := block{sum: weight[i] * (want[i] - off[i]), w: weight[i], n: 1}
		for len(blocks) > 0 {
			p := blocks[len(blocks)-1]
			if p.sum*b.w < b.sum*p.w { // mean(p) < mean(b): in order
				break
			}
			b = block{sum: p.sum + b.sum, w: p.w + b.w, n: p.n + b.n}
			blocks = blocks[:len(blocks)-1]
		}
		blocks = append(blocks, b)
	}
	i := 0
	for _, b := range blocks {
		z := b.sum / b.w
		for range b.n {
			d.verts[ids[i]].y = z + off[i]
			i++
		}
	}
}

// colX is the left edge of a column.
func colX(l int) float64 { return margin + float64(l)*(nodeW+layerGap) }
