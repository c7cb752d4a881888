package web

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/catalog/query"
)

// listFilters are the catalog list's filters. The URL uses Backstage's
// parameter names (filters[kind], filters[type], filters[owners],
// filters[lifecycles], filters[tags], filters[namespace], filters[user],
// filters[text], cursor), so catalog links copied from Backstage work
// here and the other way round; short aliases (kind, type, owner,
// lifecycle, tag, namespace, user, text) are accepted too.
type listFilters struct {
	Kind       string // lowercased; "" lists every kind
	Types      []string
	Owners     []string // lowercased refs
	Lifecycles []string
	Tags       []string // every one must be present, as Backstage's tag filter
	Namespaces []string
	User       string // userAll, userOwned or userStarred
	Text       string
	Sort       string // a key of sortFields
	Desc       bool
	Limit      int
	Cursor     *query.Cursor
}

const (
	userAll     = "all"
	userOwned   = "owned"
	userStarred = "starred"
)

// Bounds on list requests.
const (
	defaultPageSize    = 25
	maxPageSize        = 100
	maxFilterValues    = 50
	maxFilterValueLen  = query.MaxSearchValueLength
	maxTextFilterRunes = 200
)

// sortFields are the orders the list offers, by name in the URL.
var sortFields = map[string]string{
	"name":      "metadata.name",
	"type":      "spec.type",
	"lifecycle": "spec.lifecycle",
	"owner":     "spec.owner",
}

// requiredFields says which sortable fields every entity of a kind has.
// Ordering by a field drops entities lacking it (Backstage's by-query
// semantics), so only these are offered.
var requiredFields = map[string][]string{
	"component": {"type", "lifecycle", "owner"},
	"api":       {"type", "lifecycle", "owner"},
	"resource":  {"type", "owner"},
	"system":    {"owner"},
	"domain":    {"owner"},
	"group":     {"type"},
}

// sortable returns the sort names available for kind, name first.
func sortable(kind string) []string {
	return append([]string{"name"}, requiredFields[kind]...)
}

// values returns the values of a Backstage filter parameter and its alias.
func values(v url.Values, name string, aliases ...string) ([]string, bool) {
	out, ok := v["filters["+name+"]"]
	for _, a := range aliases {
		if vs, has := v[a]; has {
			out, ok = append(out, vs...), true
		}
	}
	return out, ok
}

// parseListFilters reads the list's filters from the query string. Bad
// parts are dropped with a notice saying why, and the rest still applies.
// fixedKind, when set, is the only kind listed (the API explorer).
func parseListFilters(v url.Values, defaultKind, fixedKind string, signedIn bool) (listFilters, []string) {
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	f := listFilters{Kind: defaultKind, User: userAll, Sort: "name", Limit: defaultPageSize}

	clean := func(label string, raw []string) []string {
		var out []string
		for _, s := range raw {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
				continue
			case len(s) > maxFilterValueLen:
				note("The %s filter value starting “%s” is longer than %d characters and was ignored.", label, clip(s, 40), maxFilterValueLen)
				continue
			case strings.ContainsFunc(s, unicode.IsControl):
				note("The %s filter value “%s” contains control characters and was ignored.", label, clip(strings.Map(printable, s), 40))
				continue
			case slices.Contains(out, s):
				continue
			}
			if len(out) == maxFilterValues {
				note("At most %d %s values can be combined; the rest were ignored.", maxFilterValues, label)
				break
			}
			out = append(out, s)
		}
		return out
	}

	if fixedKind != "" {
		f.Kind = fixedKind
	} else if raw, ok := values(v, "kind", "kind"); ok {
		kinds := clean("kind", raw)
		f.Kind = ""
		if len(kinds) > 0 {
			f.Kind = strings.ToLower(kinds[0])
		}
		if len(kinds) > 1 {
			note("Only one kind can be listed at a time; showing %s.", kinds[0])
		}
	}
	raw, _ := values(v, "type", "type")
	f.Types = clean("type", raw)
	raw, _ = values(v, "lifecycles", "lifecycle")
	f.Lifecycles = clean("lifecycle", raw)
	raw, _ = values(v, "tags", "tag")
	f.Tags = clean("tag", raw)
	raw, _ = values(v, "namespace", "namespace")
	f.Namespaces = clean("namespace", raw)
	raw, _ = values(v, "owners", "owner")
	for _, o := range clean("owner", raw) {
		ref, err := entity.ParseRefInContext(o, "group", "")
		if err != nil {
			note("The owner “%s” is not an entity reference such as team-a or group:default/team-a, and was ignored.", clip(o, 60))
			continue
		}
		if s := ref.String(); !slices.Contains(f.Owners, s) {
			f.Owners = append(f.Owners, s)
		}
	}

	if raw, ok := values(v, "user", "user"); ok {
		u := clean("user", raw)
		switch {
		case len(u) == 0:
		case u[0] == userAll || u[0] == userOwned || u[0] == userStarred:
			f.User = u[0]
		default:
			note("“%s” is not a choice of the owned/starred filter (all, owned or starred); showing all.", clip(u[0], 40))
		}
	}
	if f.User == userOwned && !signedIn {
		note("Sign-in is not set up on this server, so “Owned by me” cannot know who you are; showing everything instead.")
		f.User = userAll
	}

	if raw, ok := values(v, "text", "text"); ok {
		t := clean("text", raw)
		if len(t) > 0 {
			f.Text = t[0]
			if r := []rune(f.Text); len(r) > maxTextFilterRunes {
				f.Text = string(r[:maxTextFilterRunes])
				note("The search text was cut to %d characters.", maxTextFilterRunes)
			}
		}
	}

	if s := v.Get("sort"); s != "" {
		switch {
		case sortFields[s] == "":
			note("“%s” is not a sort order; sorted by name.", clip(s, 40))
		case !slices.Contains(sortable(f.Kind), s):
			note("Sorting by %s needs every listed entity to have a %s, which only some kinds require; sorted by name.", s, s)
		default:
			f.Sort = s
		}
	}
	switch d := v.Get("dir"); d {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		note("“%s” is not a sort direction (asc or desc); sorted ascending.", clip(d, 20))
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			note("The page size must be a number from 1 to %d; showing %d a page.", maxPageSize, defaultPageSize)
		} else {
			f.Limit = n
		}
	}
	if c := v.Get("cursor"); c != "" {
		cur, err := query.DecodeCursor(c)
		if err != nil {
			note("The page link was malformed or out of date; showing the first page.")
		} else {
			f.Cursor = cur
		}
	}
	return f, notes
}

func printable(r rune) rune {
	if unicode.IsControl(r) {
		return '�'
	}
	return r
}

// encode writes the filters back as Backstage-shaped query parameters,
// without the cursor.
func (f listFilters) encode(fixedKind bool) url.Values {
	v := url.Values{}
	if !fixedKind {
		v.Set("filters[kind]", f.Kind)
	}
	add := func(name string, vals []string) {
		for _, s := range vals {
			v.Add("filters["+name+"]", s)
		}
	}
	add("type", f.Types)
	add("owners", f.Owners)
	add("lifecycles", f.Lifecycles)
	add("tags", f.Tags)
	add("namespace", f.Namespaces)
	if f.User != userAll {
		v.Set("filters[user]", f.User)
	}
	if f.Text != "" {
		v.Set("filters[text]", f.Text)
	}
	if f.Sort != "name" {
		v.Set("sort", f.Sort)
	}
	if f.Desc {
		v.Set("dir", "desc")
	}
	if f.Limit != defaultPageSize {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v
}

// textFields are what Backstage's EntityTextFilter searches on the
// server. The list searches names first (nameFields), which the store
// answers from the index it sorts by, and falls back to these only when
// no name matches: at 10k entities a search over several fields takes
// tens of milliseconds, one over the sort key a few.
var (
	textFields = []string{"metadata.name", "metadata.title", "spec.profile.displayname"}
	nameFields = []string{"metadata.name"}
)

// kindFilter is the filter of the kind alone, which facet counts use (as
// Backstage's pickers count within the chosen kind).
func (f listFilters) kindFilter() *query.Filter {
	if f.Kind == "" {
		return nil
	}
	k := query.In("kind", f.Kind)
	return &k
}

// filter builds the store filter; owned lists what the viewer's
// ownership refs own, starred their starred refs.
func (f listFilters) filter(owned, starred []string) *query.Filter {
	var all []query.Filter
	if f.Kind != "" {
		all = append(all, query.In("kind", f.Kind))
	}
	if len(f.Types) > 0 {
		all = append(all, query.In("spec.type", f.Types...))
	}
	if len(f.Owners) > 0 {
		all = append(all, query.In("relations.ownedBy", f.Owners...))
	}
	if len(f.Lifecycles) > 0 {
		all = append(all, query.In("spec.lifecycle", f.Lifecycles...))
	}
	for _, t := range f.Tags {
		all = append(all, query.In("metadata.tags", t))
	}
	if len(f.Namespaces) > 0 {
		all = append(all, query.In("metadata.namespace", f.Namespaces...))
	}
	switch f.User {
	case userOwned:
		all = append(all, query.In("relations.ownedBy", owned...))
	case userStarred:
		all = append(all, starredFilter(starred))
	}
	if len(all) == 0 {
		return nil
	}
	q := query.All(all...)
	return &q
}

// starredFilter matches the entities refs name (none for no refs).
func starredFilter(refs []string) query.Filter {
	var any []query.Filter
	for _, s := range refs {
		r, err := entity.ParseRefInContext(s, "", "")
		if err != nil {
			continue
		}
		any = append(any, query.All(query.In("kind", r.Kind), query.In("metadata.namespace", r.Namespace), query.In("metadata.name", r.Name)))
	}
	if len(any) == 0 {
		return query.In("metadata.name") // matches nothing
	}
	return query.Any(any...)
}

// entitiesQuery is the page's store query; wide searches the text in
// titles and display names too.
func (f listFilters) entitiesQuery(owned, starred []string, wide bool) query.EntitiesQuery {
	q := query.EntitiesQuery{
		Style:      query.StyleQuery,
		Filter:     f.filter(owned, starred),
		Order:      []query.Order{{Field: sortFields[f.Sort], Desc: f.Desc}},
		Limit:      f.Limit,
		Cursor:     f.Cursor,
		TotalItems: true,
	}
	if f.Text != "" {
		q.FullText = query.FullTextFilter{Term: f.Text, Fields: nameFields}
		if wide {
			q.FullText.Fields = textFields
		}
	}
	return q
}
