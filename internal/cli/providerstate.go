package cli

import (
	"encoding/json"
	"net/http"

	"greenroom/internal/integration/githuborg"
	"greenroom/internal/integration/githubprovider"
	"greenroom/internal/integration/gitprovider"
)

// maxListedProblems bounds the problems each provider shows.
const maxListedProblems = 20

// statuses is the state of every entity provider serve runs, in the order
// of the configuration: GitHub discovery, GitHub org data, git
// repositories and directories.
func (d *discovery) statuses() []githubprovider.Status {
	out := d.github.Statuses()
	for _, p := range d.orgs {
		out = append(out, orgStatus(p))
	}
	for _, s := range d.git.States() {
		out = append(out, gitStatus(s))
	}
	return out
}

func orgStatus(p *githuborg.Provider) githubprovider.Status {
	st := p.State()
	s := githubprovider.Status{
		Name: p.Name(), Type: "githubOrg", Organization: p.Organizations(), Host: p.Host(),
		LastRun: st.LastAttempt, LastSuccess: st.LastSuccess, LastError: st.LastError, NextRun: st.NextRun,
		Users: st.Users, Groups: st.Groups, Problems: len(st.Result.Problems),
	}
	if st.LastError != "" {
		s.LastErrorAt = st.LastAttempt
	}
	for i, e := range st.Result.Problems {
		if i == maxListedProblems {
			break
		}
		s.ProblemList = append(s.ProblemList, e.Error())
	}
	return s
}

func gitStatus(st gitprovider.State) githubprovider.Status {
	s := githubprovider.Status{
		Name: st.Name, Type: st.Kind, Target: st.Target, Commit: st.Commit,
		LastRun: st.LastRun, LastSuccess: st.LastSuccess, LastError: st.LastError, NextRun: st.NextRun,
		FilesFound: st.Files, Problems: len(st.Problems),
	}
	if st.LastError != "" {
		s.LastErrorAt = st.LastRun
	}
	if len(st.Problems) > maxListedProblems {
		s.ProblemList = st.Problems[:maxListedProblems]
	} else {
		s.ProblemList = st.Problems
	}
	return s
}

// statusHandler serves GET /api/catalog/providers: every provider's state.
func (d *discovery) statusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(githubprovider.StatusList{Items: d.statuses()})
	})
}
