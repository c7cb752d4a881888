package web

import (
	"net/http"
	"time"

	"greenroom/internal/integration/githubprovider"
)

// ProviderStates returns every entity provider's state (the composition
// root's discovery), in configuration order.
type ProviderStates func() []githubprovider.Status

// ProviderPages is the admin page of the entity providers: last success,
// last error, next run, what the last run found and the rate limit left —
// the same data as GET /api/catalog/providers and `greenroom catalog
// providers`.
type ProviderPages struct {
	h      *Handler
	states ProviderStates
}

// ProviderPages returns the providers' admin page over states.
func (h *Handler) ProviderPages(states ProviderStates) *ProviderPages {
	return &ProviderPages{h: h, states: states}
}

// Routes mounts GET /admin/providers.
func (pp *ProviderPages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /admin/providers", pp.h.handle(pp.page))
}

type providerRow struct {
	Name, Type, Source string
	State              string // ok, running, failing, pending
	StateClass         string // the badge style; the state is always written out too
	LastSuccess        string
	LastError          string
	LastErrorAt        string
	NextRun            string
	Found              string
	Problems           []string
	ProblemsN          int
	Requests           int64
	RateLimits         []string
}

type providersView struct {
	Rows    []providerRow
	Failing int
}

func (pp *ProviderPages) page(w http.ResponseWriter, r *http.Request) error {
	now := time.Now()
	var v providersView
	for _, s := range pp.states() {
		row := providerRow{Name: s.Name, Type: s.Type, Source: s.Organization, LastSuccess: when(s.LastSuccess, now),
			LastError: s.LastError, LastErrorAt: when(s.LastErrorAt, now), NextRun: when(s.NextRun, now),
			Problems: s.ProblemList, ProblemsN: s.Problems, Requests: s.RequestsTotal}
		if row.Type == "" {
			row.Type = "github"
		}
		switch row.Type {
		case "githubOrg":
			row.Found = plural(s.Users, "user", "users") + ", " + plural(s.Groups, "group", "groups")
		case "git", "directory":
			row.Source = s.Target
			if s.Commit != "" {
				row.Source += " @ " + s.Commit[:min(12, len(s.Commit))]
			}
			row.Found = plural(s.FilesFound, "catalog file", "catalog files")
		default:
			row.Found = plural(s.ReposSeen, "repository", "repositories") + " seen, " + plural(s.FilesFound, "catalog file", "catalog files")
		}
		switch {
		case s.Running:
			row.State, row.StateClass = "running", "lc-experimental"
		case s.LastError != "":
			row.State, row.StateClass = "failing", "lc-deprecated"
			v.Failing++
		case s.LastSuccess.IsZero():
			row.State = "pending"
		default:
			row.State, row.StateClass = "ok", "lc-production"
		}
		for _, rl := range s.RateLimits {
			row.RateLimits = append(row.RateLimits, rl.Resource+": "+formatCount(rl.Remaining)+" of "+formatCount(rl.Limit)+" left, resets "+when(rl.Reset, now))
		}
		v.Rows = append(v.Rows, row)
	}
	return pp.h.render(w, r, http.StatusOK, "providers", &page{Title: "Entity providers", Nav: "admin", Data: v})
}

// when shows t relative to now, in the past or the future, or "never".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if t.After(now) {
		d := t.Sub(now).Round(time.Second)
		return "in " + d.String()
	}
	return ago(t)
}
