package scaffolder

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"

	"greenroom/internal/greenroom"
)

// backstageFilters are the filters Backstage's scaffolder adds to
// Nunjucks: parseRepoUrl, parseEntityRef, pick and projectSlug.
func backstageFilters() map[string]exec.FilterFunction {
	return map[string]exec.FilterFunction{
		"parseRepoUrl":   filterParseRepoURL,
		"parseEntityRef": filterParseEntityRef,
		"pick":           filterPick,
		"projectSlug":    filterProjectSlug,
		"dump":           filterDump,
	}
}

// RepoURL is a RepoUrlPicker value, "host?owner=o&repo=r" (with
// organization, workspace and project for the hosts that have them).
type RepoURL struct {
	Host, Owner, Repo, Organization, Workspace, Project string
}

// ParseRepoURL parses a RepoUrlPicker value as Backstage's parseRepoUrl:
// the host and the query's owner, repo, organization, workspace and
// project. A repo is required; so is an owner except on hosts whose repos
// are named by workspace/project or organization.
func ParseRepoURL(s string) (RepoURL, error) {
	if s == "" {
		return RepoURL{}, greenroom.Errorf(greenroom.CodeInvalid, "repoUrl is empty")
	}
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" {
		return RepoURL{}, greenroom.Errorf(greenroom.CodeInvalid, "invalid repoUrl %q: want host?owner=owner&repo=repo", s)
	}
	q := u.Query()
	r := RepoURL{
		Host: u.Host, Owner: q.Get("owner"), Repo: q.Get("repo"),
		Organization: q.Get("organization"), Workspace: q.Get("workspace"), Project: q.Get("project"),
	}
	if r.Repo == "" {
		return RepoURL{}, greenroom.Errorf(greenroom.CodeInvalid, "invalid repoUrl %q: missing repo", s)
	}
	if r.Owner == "" && r.Organization == "" && r.Workspace == "" && r.Project == "" {
		return RepoURL{}, greenroom.Errorf(greenroom.CodeInvalid, "invalid repoUrl %q: missing owner", s)
	}
	for _, part := range []string{r.Owner, r.Repo} {
		if strings.Contains(part, "..") || strings.ContainsAny(part, "\\\x00") {
			return RepoURL{}, greenroom.Errorf(greenroom.CodeInvalid, "invalid repoUrl %q: owner and repo must not contain '..'", s)
		}
	}
	return r, nil
}

// Map is the object parseRepoUrl returns in templates (empty fields left out).
func (r RepoURL) Map() map[string]any {
	m := map[string]any{"host": r.Host, "repo": r.Repo}
	for k, v := range map[string]string{"owner": r.Owner, "organization": r.Organization, "workspace": r.Workspace, "project": r.Project} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// Slug is "owner/repo" as projectSlug returns it.
func (r RepoURL) Slug() string {
	owner := r.Owner
	if owner == "" {
		owner = r.Project
	}
	return owner + "/" + r.Repo
}

func filterParseRepoURL(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	r, err := ParseRepoURL(in.String())
	if err != nil {
		return exec.AsValue(fmt.Errorf("parseRepoUrl: %s", greenroom.ErrorMessage(err)))
	}
	return exec.AsValue(r.Map())
}

func filterProjectSlug(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	r, err := ParseRepoURL(in.String())
	if err != nil {
		return exec.AsValue(fmt.Errorf("projectSlug: %s", greenroom.ErrorMessage(err)))
	}
	return exec.AsValue(r.Slug())
}

// filterParseEntityRef is Backstage's parseEntityRef(ref, {defaultKind,
// defaultNamespace}) giving {kind, namespace, name}.
func filterParseEntityRef(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	defKind, defNS := "", "default"
	var opts *exec.Value
	if len(params.Args) > 0 {
		opts = params.Args[0]
	}
	if opts != nil && opts.IsDict() {
		if v, ok := opts.GetItem("defaultKind"); ok && v.IsString() {
			defKind = v.String()
		}
		if v, ok := opts.GetItem("defaultNamespace"); ok && v.IsString() {
			defNS = v.String()
		}
	}
	if v := params.GetKeywordArgument("defaultKind", nil); v != nil && !v.IsNil() {
		defKind = v.String()
	}
	if v := params.GetKeywordArgument("defaultNamespace", nil); v != nil && !v.IsNil() {
		defNS = v.String()
	}
	ref, err := parseRef(in.String(), defKind, defNS)
	if err != nil {
		return exec.AsValue(fmt.Errorf("parseEntityRef: %w", err))
	}
	return exec.AsValue(map[string]any{"kind": ref.Kind, "namespace": ref.Namespace, "name": ref.Name})
}

// parseRef parses kind:namespace/name keeping the kind's case, as
// Backstage's parseEntityRef does.
func parseRef(s, defKind, defNS string) (greenroom.EntityRef, error) {
	var r greenroom.EntityRef
	rest := s
	if k, after, ok := strings.Cut(rest, ":"); ok {
		r.Kind, rest = k, after
	} else {
		r.Kind = defKind
	}
	if ns, after, ok := strings.Cut(rest, "/"); ok {
		r.Namespace, rest = ns, after
	} else {
		r.Namespace = defNS
	}
	r.Name = rest
	if r.Kind == "" {
		return r, fmt.Errorf("entity ref %q has no kind and no default kind was given", s)
	}
	if r.Name == "" || r.Namespace == "" || strings.ContainsAny(r.Name, ":/") {
		return r, fmt.Errorf("entity ref %q is malformed: want [kind:][namespace/]name", s)
	}
	return r, nil
}

// filterPick is Backstage's pick(obj, key): obj[key].
func filterPick(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 1 {
		return exec.AsValue(fmt.Errorf("pick: expected one key"))
	}
	if !in.IsDict() {
		return exec.AsValue(nil)
	}
	v, ok := in.GetItem(params.Args[0].String())
	if !ok {
		return exec.AsValue(nil)
	}
	return v
}

// filterDump is Nunjucks' dump: JSON.
func filterDump(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	fn, _ := e.Environment.Filters.Get("tojson")
	return fn(e, in, params)
}
