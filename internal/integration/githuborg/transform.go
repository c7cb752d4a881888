package githuborg

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"testing/fstest"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
)

// Annotations the provider sets, as Backstage's.
const (
	AnnotationUserLogin = "github.com/user-login"
	AnnotationTeamSlug  = "github.com/team-slug"
	annotationEditURL   = "backstage.io/edit-url"
	annotationLocation  = "backstage.io/managed-by-location"
	annotationOrigin    = "backstage.io/managed-by-origin-location"
)

// Bounds of one read. A source is one file for the catalog's reader, which
// takes at most 10 000 documents a file, so users are spread over
// userShards sources by a hash of their login (stable: a user never moves
// between sources, which would look like a conflict for one pass).
const (
	maxTeamsPerOrg = 10000
	userShards     = 16
	maxUsers       = userShards * 10000
)

// orgData is what one read of an organization returned.
type orgData struct {
	Org   string
	Users []github.OrgUser
	Teams []github.OrgTeam
}

// entity is a catalog entity being built, in Backstage's JSON shape.
type entity = map[string]any

// buildSources turns the organizations read into the provider's sources:
// one per organization with its Groups, and the Users spread over
// userShards sources. Users seen in several organizations are one User
// with the memberships of all of them, as Backstage's multi-org provider
// does. defaultNamespace puts every Group in the default namespace (a
// single provider reading a single organization, as Backstage's module
// decides); otherwise each organization's Groups live in a namespace named
// for it.
func buildSources(provider, host string, orgs []orgData, defaultNamespace bool) ([]catalog.Source, error) {
	baseURL := "https://" + host
	users := map[string]entity{} // by lower-case login
	var order []string
	var sources []catalog.Source
	for _, od := range orgs {
		if len(od.Teams) > maxTeamsPerOrg {
			return nil, greenroom.Errorf(greenroom.CodeTooLarge, "githuborg: organization %s has more than %d teams", od.Org, maxTeamsPerOrg)
		}
		for _, u := range od.Users {
			key := strings.ToLower(u.Login)
			if _, ok := users[key]; ok || u.Login == "" {
				continue
			}
			if len(users) >= maxUsers {
				return nil, greenroom.Errorf(greenroom.CodeTooLarge, "githuborg: more than %d users", maxUsers)
			}
			users[key] = userEntity(baseURL, u)
			order = append(order, key)
		}
		ns := greenroom.DefaultNamespace
		if !defaultNamespace {
			ns = strings.ToLower(od.Org)
		}
		groups := make([]entity, 0, len(od.Teams))
		for _, t := range od.Teams {
			groups = append(groups, groupEntity(baseURL, od.Org, ns, defaultNamespace, t))
		}
		buildHierarchy(groups)
		assignGroups(users, groups)
		docs := make([]entity, len(groups))
		copy(docs, groups)
		src, err := source(provider, strings.ToLower(od.Org), docs)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	shards := make([][]entity, userShards)
	for _, key := range order {
		i := shardOf(key)
		shards[i] = append(shards[i], users[key])
	}
	for i, docs := range shards {
		if len(docs) == 0 {
			continue
		}
		src, err := source(provider, fmt.Sprintf("users-%02d", i), docs)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	return sources, nil
}

func shardOf(login string) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int(h.Sum32() % userShards)
}

// source renders docs as one multi-document file of a provider source.
func source(provider, key string, docs []entity) (catalog.Source, error) {
	var b strings.Builder
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		j, err := json.Marshal(d)
		if err != nil {
			return catalog.Source{}, fmt.Errorf("githuborg: encode entity: %w", err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	const file = "org.yaml"
	return catalog.Source{
		Name:       catalog.ProviderSourceName(provider, key),
		FS:         fstest.MapFS{file: {Data: []byte(b.String())}},
		Root:       file,
		AllowKinds: []string{"user", "group"},
	}, nil
}

// userEntity is Backstage's defaultUserTransformer with the locations its
// multi-org provider adds (withLocations).
func userEntity(baseURL string, u github.OrgUser) entity {
	loc := "url:" + baseURL + "/" + u.Login
	meta := entity{
		"name": u.Login,
		"annotations": map[string]any{
			AnnotationUserLogin: u.Login,
			annotationLocation:  loc,
			annotationOrigin:    loc,
		},
	}
	if u.Bio != "" {
		meta["description"] = u.Bio
	}
	profile := entity{}
	if u.Name != "" {
		profile["displayName"] = u.Name
	}
	if u.Email != "" {
		profile["email"] = u.Email
	}
	if u.AvatarURL != "" {
		profile["picture"] = u.AvatarURL
	}
	return entity{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "User",
		"metadata":   meta,
		"spec":       entity{"profile": profile, "memberOf": []string{}},
	}
}

// groupEntity is Backstage's defaultOrganizationTeamTransformer as its
// multi-org provider uses it: namespaced per organization unless
// defaultNamespace, members always qualified with the default namespace
// (they are Users, which are not namespaced per organization).
func groupEntity(baseURL, org, ns string, defaultNamespace bool, t github.OrgTeam) entity {
	combined := t.CombinedSlug
	if combined == "" {
		combined = org + "/" + t.Slug
	}
	slugOrg, slugTeam, _ := strings.Cut(combined, "/")
	loc := "url:" + baseURL + "/orgs/" + slugOrg + "/teams/" + slugTeam
	ann := map[string]any{AnnotationTeamSlug: combined, annotationLocation: loc, annotationOrigin: loc}
	if t.EditTeamURL != "" {
		ann[annotationEditURL] = t.EditTeamURL
	}
	meta := entity{"name": t.Slug, "annotations": ann}
	if !defaultNamespace {
		meta["namespace"] = ns
	}
	if t.Description != "" {
		meta["description"] = t.Description
	}
	profile := entity{}
	if t.Name != "" {
		profile["displayName"] = t.Name
	}
	if t.AvatarURL != "" {
		profile["picture"] = t.AvatarURL
	}
	members := make([]string, 0, len(t.Members))
	for _, m := range t.Members {
		members = append(members, greenroom.DefaultNamespace+"/"+m.Login)
	}
	spec := entity{"type": "team", "profile": profile, "children": []string{}, "members": members}
	if t.ParentSlug != "" {
		spec["parent"] = t.ParentSlug
	}
	return entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": meta, "spec": spec}
}

func name(e entity) string      { return e["metadata"].(entity)["name"].(string) }
func spec(e entity) entity      { return e["spec"].(entity) }
func namespace(e entity) string { ns, _ := e["metadata"].(entity)["namespace"].(string); return ns }

// buildHierarchy is Backstage's buildOrgHierarchy: each parent lists its
// children, and each listed child names its parent.
func buildHierarchy(groups []entity) {
	byName := make(map[string]entity, len(groups))
	for _, g := range groups {
		byName[name(g)] = g
	}
	for _, g := range groups {
		if p, _ := spec(g)["parent"].(string); p != "" {
			if parent, ok := byName[p]; ok {
				children := spec(parent)["children"].([]string)
				if !contains(children, name(g)) {
					spec(parent)["children"] = append(children, name(g))
				}
			}
		}
	}
	for _, g := range groups {
		for _, c := range spec(g)["children"].([]string) {
			if child, ok := byName[c]; ok {
				if p, _ := spec(child)["parent"].(string); p == "" {
					spec(child)["parent"] = name(g)
				}
			}
		}
	}
}

// assignGroups is Backstage's assignGroupsToUsers: each member gets the
// group in spec.memberOf, as "namespace/name" outside the default
// namespace.
func assignGroups(users map[string]entity, groups []entity) {
	for _, g := range groups {
		key := name(g)
		if ns := namespace(g); ns != "" && ns != greenroom.DefaultNamespace {
			key = ns + "/" + key
		}
		for _, m := range spec(g)["members"].([]string) {
			login := strings.TrimPrefix(m, greenroom.DefaultNamespace+"/")
			u, ok := users[strings.ToLower(login)]
			if !ok {
				continue
			}
			memberOf := spec(u)["memberOf"].([]string)
			if !contains(memberOf, key) {
				spec(u)["memberOf"] = append(memberOf, key)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
