package githubprovider

import (
	"encoding/json"
	"net/http"
	"time"
)

// Status is a provider's state as GET /api/catalog/providers shows it.
// It is kept in memory: after a restart it fills again with the first scan.
// Every provider kind (github, githubOrg, git, directory) is shown in this
// shape; fields that do not apply to a kind are left empty.
type Status struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	Organization string `json:"organization,omitempty"`
	// Target is the repository URL (git) or directory (directory).
	Target string `json:"target,omitempty"`
	// Commit is the commit last applied (git).
	Commit string `json:"commit,omitempty"`
	// Users and Groups are what an org provider last read.
	Users       int    `json:"users,omitempty"`
	Groups      int    `json:"groups,omitempty"`
	Host        string `json:"host"`
	CatalogPath string `json:"catalogPath"`
	Frequency   string `json:"frequency"`

	Running     bool      `json:"running"`
	LastRun     time.Time `json:"lastRun,omitzero"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// LastError is the last failed scan's error, cleared by a success.
	LastError string    `json:"lastError,omitempty"`
	NextRun   time.Time `json:"nextRun,omitzero"`

	// Of the last successful scan:
	ReposSeen    int `json:"reposSeen"`
	ReposMatched int `json:"reposMatched"`
	FilesFound   int `json:"filesFound"`
	Problems     int `json:"problems"`
	// ProblemList is the first of them, each naming owner/repo/path.
	ProblemList []string `json:"problemList,omitempty"`
	Requests    int64    `json:"requests"`
	Duration    string   `json:"duration,omitempty"`

	// RequestsTotal counts every request the provider's client sent since
	// start (shared by the providers of one host).
	RequestsTotal int64             `json:"requestsTotal"`
	RateLimits    []RateLimitStatus `json:"rateLimits,omitempty"`

	WebhooksApplied int       `json:"webhooksApplied"`
	LastWebhook     time.Time `json:"lastWebhook,omitzero"`
}

// RateLimitStatus is one rate-limit resource as GitHub last reported it.
type RateLimitStatus struct {
	Resource  string    `json:"resource"`
	Limit     int       `json:"limit"`
	Remaining int       `json:"remaining"`
	Reset     time.Time `json:"reset"`
}

// StatusList is the body of GET /api/catalog/providers.
type StatusList struct {
	Items []Status `json:"items"`
}

// Statuses returns every provider's state, in configuration order.
func (d *Discovery) Statuses() []Status {
	out := make([]Status, 0, len(d.providers))
	for _, p := range d.providers {
		out = append(out, p.Status())
	}
	return out
}

// StatusHandler serves GET /api/catalog/providers.
func (d *Discovery) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(StatusList{Items: d.Statuses()})
	})
}
