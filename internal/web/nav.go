package web

import (
	"slices"
	"sync"
)

// navItem is one link of the main navigation. Features that add pages to
// the portal (create, docs, search, admin…) register theirs from an init
// function in their own file, so the layout never needs editing:
//
//	func init() { registerNav(navItem{ID: "docs", Label: "Docs", Path: "/docs", Order: 40}) }
//
// ID is what a page sets as page.Nav to mark its item as current.
type navItem struct {
	ID    string
	Label string
	Path  string
	Order int
}

var (
	navMu    sync.Mutex
	navItems = []navItem{
		{ID: "home", Label: "Home", Path: "/", Order: 10},
		{ID: "catalog", Label: "Catalog", Path: "/catalog", Order: 20},
		{ID: "apis", Label: "APIs", Path: "/api-docs", Order: 30},
		{ID: "import", Label: "Register", Path: "/catalog-import", Order: 90},
	}
)

func registerNav(it navItem) {
	navMu.Lock()
	defer navMu.Unlock()
	navItems = append(navItems, it)
	slices.SortStableFunc(navItems, func(a, b navItem) int { return a.Order - b.Order })
}

// NavItems returns the main navigation in order.
func (p *page) NavItems() []navItem {
	navMu.Lock()
	defer navMu.Unlock()
	return slices.Clone(navItems)
}
