package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sync"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/catalog/query"
)

// orgView is the people side of a group's or user's Overview: profile,
// the teams around it, its members and what it owns.
type orgView struct {
	Group       bool
	DisplayName string
	Email       string // mailto: URL, "" when unsafe or unset
	EmailText   string
	Groups      []relatedGroup // parent, sub-teams, members (group); member of (user)
	Owned       []entityRow
	OwnedTotal  int
	OwnedKinds  []facetOption // counts by kind, each a catalog link
	OwnedURL    string        // the whole list in the catalog
	ViaTeams    int           // a user's: entities their groups own
	ViaTeamsURL string
}

// maxOwnedShown bounds the owned entities listed on the page.
const maxOwnedShown = 25

func (h *Handler) orgView(ctx context.Context, e *Entity) (*orgView, error) {
	row := newRow(e, viewer{})
	v := &orgView{Group: e.IsKind("group"), DisplayName: e.DisplayName(), Email: row.Email, EmailText: row.EmailText}
	var specs []relatedSpec
	if v.Group {
		specs = []relatedSpec{
			{"parent", "Parent team", "This group has no parent team.", entity.RelationChildOf, ""},
			{"subteams", "Sub-teams", "This group has no sub-teams.", entity.RelationParentOf, ""},
			{"members", "Members", "This group has no members.", entity.RelationHasMember, ""},
		}
	} else {
		specs = []relatedSpec{{"member-of", "Member of", "This user is a member of no group.", entity.RelationMemberOf, ""}}
	}
	ref := e.RefString()
	f := query.In("relations.ownedBy", ref)
	var teams []string
	if !v.Group {
		teams = e.RelationTargets(entity.RelationMemberOf)
		teams = teams[:min(len(teams), maxOwnershipRefs)]
	}
	// Four independent reads; the page waits for the slowest.
	var (
		wg                            sync.WaitGroup
		page, teamPage                query.EntitiesPage[json.RawMessage]
		kinds                         query.FacetsResponse
		relErr, ownErr, kindErr, tErr error
	)
	wg.Go(func() { v.Groups, relErr = h.relatedGroups(ctx, e, specs) })
	wg.Go(func() {
		page, ownErr = h.catalog.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Filter: &f,
			Order: []query.Order{{Field: "metadata.name"}}, Limit: maxOwnedShown, TotalItems: true}, listFields)
	})
	wg.Go(func() {
		kinds, kindErr = h.catalog.Facets(ctx, query.FacetsQuery{Facets: []string{"kind"}, Filter: &f})
	})
	if len(teams) > 0 {
		wg.Go(func() {
			tf := query.In("relations.ownedBy", teams...)
			teamPage, tErr = h.catalog.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Filter: &tf, Limit: 0, TotalItems: true}, listFields)
		})
	}
	wg.Wait()
	if err := errors.Join(relErr, ownErr, kindErr, tErr); err != nil {
		return nil, err
	}
	v.OwnedTotal = page.TotalItems
	for _, raw := range page.Items {
		oe, err := parseEntity(raw)
		if err != nil {
			return nil, err
		}
		v.Owned = append(v.Owned, newRow(oe, viewer{}))
	}
	owner := url.QueryEscape(ref)
	v.OwnedURL = "/catalog?filters%5Bkind%5D=&filters%5Bowners%5D=" + owner
	for _, k := range kindOptions(kinds.Facets["kind"], "") {
		k.Value = "/catalog?filters%5Bkind%5D=" + url.QueryEscape(k.Value) + "&filters%5Bowners%5D=" + owner
		v.OwnedKinds = append(v.OwnedKinds, k)
	}
	if len(teams) > 0 {
		v.ViaTeams = teamPage.TotalItems
		q := url.Values{"filters[kind]": {""}}
		for _, t := range teams {
			q.Add("filters[owners]", t)
		}
		v.ViaTeamsURL = "/catalog?" + q.Encode()
	}
	return v, nil
}
