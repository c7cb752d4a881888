package query

import "net/url"

// FacetsQuery asks, for each facet key, how many entities matching Filter
// have each of its values: GET /entity-facets.
type FacetsQuery struct {
	// Facets are search keys such as kind or spec.type, compared
	// case-insensitively; the response is keyed by them as given.
	Facets []string
	Filter *Filter
}

// FacetCount is one value of a facet and how many search rows (one per
// entity and value) have it. Value is the text as written in the entity,
// so "Component" and "component" are counted apart, as in Backstage.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// FacetsResponse is the body of GET /entity-facets.
type FacetsResponse struct {
	Facets map[string][]FacetCount `json:"facets"`
}

// ParseFacetsParams reads GET /entity-facets: one or more facet
// parameters (blank ones ignored) and the filter.
func ParseFacetsParams(v url.Values) (FacetsQuery, error) {
	var q FacetsQuery
	for _, f := range v["facet"] {
		if f == "" {
			continue
		}
		if err := checkText("facet", f); err != nil {
			return q, err
		}
		q.Facets = append(q.Facets, f)
	}
	if len(q.Facets) == 0 {
		return q, invalid("Missing facet parameter")
	}
	var err error
	q.Filter, err = ParseFilter(v)
	return q, err
}
