package github

import (
	"context"
	"fmt"
	"net/url"

	"greenroom/internal/greenroom"
)

// Team is an organization team (REST).
type Team struct {
	ID          int64       `json:"id"`
	NodeID      string      `json:"node_id"`
	Name        string      `json:"name"`
	Slug        string      `json:"slug"`
	Description string      `json:"description"`
	Privacy     string      `json:"privacy"`
	HTMLURL     string      `json:"html_url"`
	Parent      *TeamParent `json:"parent"`
}

// TeamParent is the parent a Team names.
type TeamParent struct {
	ID     int64  `json:"id"`
	NodeID string `json:"node_id"`
	Name   string `json:"name"`
	Slug   string `json:"slug"`
}

// User is a user as GitHub lists them in members listings (REST).
type User struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	Type      string `json:"type"`
	AvatarURL string `json:"avatar_url"`
	HTMLURL   string `json:"html_url"`
	SiteAdmin bool   `json:"site_admin"`
}

// UserProfile is a user's public profile (GET /users/{login}); Email is the
// public email, "" when the user shows none.
type UserProfile struct {
	User
	Name     string `json:"name"`
	Email    string `json:"email"`
	Bio      string `json:"bio"`
	Company  string `json:"company"`
	Location string `json:"location"`
}

// Teams lists org's teams, each naming its parent (REST, all pages).
func (c *Client) Teams(ctx context.Context, org string) ([]Team, error) {
	teams, err := listAll[Team](ctx, c, kindREST, org, "/orgs/"+url.PathEscape(org)+"/teams", nil)
	if err != nil {
		return nil, fmt.Errorf("github: list teams of %s: %w", org, err)
	}
	return teams, nil
}

// TeamMembers lists a team's members (REST). GitHub includes the members
// of child teams here; OrgTeams gives immediate members only.
func (c *Client) TeamMembers(ctx context.Context, org, slug string) ([]User, error) {
	users, err := listAll[User](ctx, c, kindREST, org, "/orgs/"+url.PathEscape(org)+"/teams/"+url.PathEscape(slug)+"/members", nil)
	if err != nil {
		return nil, fmt.Errorf("github: list members of team %s/%s: %w", org, slug, err)
	}
	return users, nil
}

// Members lists org's members (REST; public members only for anonymous
// access).
func (c *Client) Members(ctx context.Context, org string) ([]User, error) {
	users, err := listAll[User](ctx, c, kindREST, org, "/orgs/"+url.PathEscape(org)+"/members", nil)
	if err != nil {
		return nil, fmt.Errorf("github: list members of %s: %w", org, err)
	}
	return users, nil
}

// User returns login's profile, asked with owner's credentials.
func (c *Client) User(ctx context.Context, owner, login string) (UserProfile, error) {
	var u UserProfile
	if err := c.getJSON(ctx, owner, "/users/"+url.PathEscape(login), nil, &u); err != nil {
		return u, fmt.Errorf("github: get user %s: %w", login, err)
	}
	return u, nil
}

// OrgUser is an organization member as Backstage's GitHub org provider
// reads them (GraphQL).
type OrgUser struct {
	Login     string `json:"login"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Bio       string `json:"bio"`
	AvatarURL string `json:"avatarUrl"`
	// OrganizationVerifiedDomainEmails are the user's emails on the org's
	// verified domains, visible to the org even when Email is not.
	OrganizationVerifiedDomainEmails []string `json:"organizationVerifiedDomainEmails"`
}

// OrgTeam is a team with its immediate members (GraphQL).
type OrgTeam struct {
	Slug         string
	CombinedSlug string
	Name         string
	Description  string
	AvatarURL    string
	EditTeamURL  string
	// ParentSlug is "" for a top-level team.
	ParentSlug string
	Members    []OrgUser
}

// Page sizes of the org queries: Backstage's defaults, which it lowered to
// stay under GitHub's RESOURCE_LIMITS_EXCEEDED.
const (
	teamsPageSize       = 25
	teamMembersPageSize = 50
	orgMembersPageSize  = 50
)

const usersQuery = `query users($org: String!, $email: Boolean!, $cursor: String, $organizationMembersPageSize: Int!) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    membersWithRole(first: $organizationMembersPageSize, after: $cursor) {
      pageInfo { hasNextPage endCursor }
      nodes { avatarUrl bio email @include(if: $email) id login name organizationVerifiedDomainEmails(login: $org) }
    }
  }
}`

const teamsQuery = `query teams($org: String!, $cursor: String, $teamsPageSize: Int!, $membersPageSize: Int!) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    teams(first: $teamsPageSize, after: $cursor) {
      pageInfo { hasNextPage endCursor }
      nodes {
        slug combinedSlug name description avatarUrl editTeamUrl
        parentTeam { slug }
        members(first: $membersPageSize, membership: IMMEDIATE) {
          pageInfo { hasNextPage }
          nodes { avatarUrl bio email id login name organizationVerifiedDomainEmails(login: $org) }
        }
      }
    }
  }
}`

const membersQuery = `query members($org: String!, $teamSlug: String!, $cursor: String, $membersPageSize: Int!) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    team(slug: $teamSlug) {
      members(first: $membersPageSize, after: $cursor, membership: IMMEDIATE) {
        pageInfo { hasNextPage endCursor }
        nodes { avatarUrl bio email id login name organizationVerifiedDomainEmails(login: $org) }
      }
    }
  }
}`

// OrgUsers lists org's members with profile fields (GraphQL). Emails are
// asked for with token credentials only: GitHub refuses them to Apps, as
// Backstage knows.
func (c *Client) OrgUsers(ctx context.Context, org string) ([]OrgUser, error) {
	app, err := c.usesApp(ctx, org)
	if err != nil {
		return nil, err
	}
	var out []OrgUser
	var cursor any
	for page := 0; ; page++ {
		if page >= maxGraphQLPages {
			return out, greenroom.Errorf(greenroom.CodeTooLarge, "github: members of %s: more than %d pages", org, maxGraphQLPages)
		}
		var data struct {
			Organization *struct {
				MembersWithRole struct {
					PageInfo PageInfo  `json:"pageInfo"`
					Nodes    []OrgUser `json:"nodes"`
				} `json:"membersWithRole"`
			} `json:"organization"`
		}
		vars := map[string]any{"org": org, "email": !app, "cursor": cursor, "organizationMembersPageSize": orgMembersPageSize}
		if err := c.graphql(ctx, org, "users", usersQuery, vars, &data); err != nil {
			return out, fmt.Errorf("github: members of %s: %w", org, err)
		}
		if data.Organization == nil {
			return out, greenroom.Errorf(greenroom.CodeNotFound, "github: organization %s not found", org)
		}
		conn := data.Organization.MembersWithRole
		out = append(out, conn.Nodes...)
		if !conn.PageInfo.HasNextPage {
			return out, nil
		}
		cursor = conn.PageInfo.EndCursor
	}
}

// OrgTeams lists org's teams with parents and immediate members (GraphQL);
// a team with more members than one page holds is completed with further
// queries.
func (c *Client) OrgTeams(ctx context.Context, org string) ([]OrgTeam, error) {
	type gqlTeam struct {
		Slug         string `json:"slug"`
		CombinedSlug string `json:"combinedSlug"`
		Name         string `json:"name"`
		Description  string `json:"description"`
		AvatarURL    string `json:"avatarUrl"`
		EditTeamURL  string `json:"editTeamUrl"`
		ParentTeam   *struct {
			Slug string `json:"slug"`
		} `json:"parentTeam"`
		Members struct {
			PageInfo PageInfo  `json:"pageInfo"`
			Nodes    []OrgUser `json:"nodes"`
		} `json:"members"`
	}
	var out []OrgTeam
	var cursor any
	for page := 0; ; page++ {
		if page >= maxGraphQLPages {
			return out, greenroom.Errorf(greenroom.CodeTooLarge, "github: teams of %s: more than %d pages", org, maxGraphQLPages)
		}
		var data struct {
			Organization *struct {
				Teams struct {
					PageInfo PageInfo  `json:"pageInfo"`
					Nodes    []gqlTeam `json:"nodes"`
				} `json:"teams"`
			} `json:"organization"`
		}
		vars := map[string]any{"org": org, "cursor": cursor, "teamsPageSize": teamsPageSize, "membersPageSize": teamMembersPageSize}
		if err := c.graphql(ctx, org, "teams", teamsQuery, vars, &data); err != nil {
			return out, fmt.Errorf("github: teams of %s: %w", org, err)
		}
		if data.Organization == nil {
			return out, greenroom.Errorf(greenroom.CodeNotFound, "github: organization %s not found", org)
		}
		conn := data.Organization.Teams
		for _, n := range conn.Nodes {
			t := OrgTeam{Slug: n.Slug, CombinedSlug: n.CombinedSlug, Name: n.Name, Description: n.Description,
				AvatarURL: n.AvatarURL, EditTeamURL: n.EditTeamURL, Members: n.Members.Nodes}
			if n.ParentTeam != nil {
				t.ParentSlug = n.ParentTeam.Slug
			}
			if n.Members.PageInfo.HasNextPage {
				members, err := c.OrgTeamMembers(ctx, org, n.Slug)
				if err != nil {
					return out, err
				}
				t.Members = members
			}
			out = append(out, t)
		}
		if !conn.PageInfo.HasNextPage {
			return out, nil
		}
		cursor = conn.PageInfo.EndCursor
	}
}

// OrgTeamMembers lists a team's immediate members (GraphQL).
func (c *Client) OrgTeamMembers(ctx context.Context, org, slug string) ([]OrgUser, error) {
	var out []OrgUser
	var cursor any
	for page := 0; ; page++ {
		if page >= maxGraphQLPages {
			return out, greenroom.Errorf(greenroom.CodeTooLarge, "github: members of team %s/%s: more than %d pages", org, slug, maxGraphQLPages)
		}
		var data struct {
			Organization *struct {
				Team *struct {
					Members struct {
						PageInfo PageInfo  `json:"pageInfo"`
						Nodes    []OrgUser `json:"nodes"`
					} `json:"members"`
				} `json:"team"`
			} `json:"organization"`
		}
		vars := map[string]any{"org": org, "teamSlug": slug, "cursor": cursor, "membersPageSize": teamMembersPageSize}
		if err := c.graphql(ctx, org, "members", membersQuery, vars, &data); err != nil {
			return out, fmt.Errorf("github: members of team %s/%s: %w", org, slug, err)
		}
		if data.Organization == nil || data.Organization.Team == nil {
			return out, greenroom.Errorf(greenroom.CodeNotFound, "github: team %s/%s not found", org, slug)
		}
		conn := data.Organization.Team.Members
		out = append(out, conn.Nodes...)
		if !conn.PageInfo.HasNextPage {
			return out, nil
		}
		cursor = conn.PageInfo.EndCursor
	}
}
