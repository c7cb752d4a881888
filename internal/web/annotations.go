package web

import (
	"slices"
	"strings"
)

// knownAnnotations explains the annotations the portal (or Backstage's
// plugins) understand, for the Overview's annotation table. The names the
// placeholder sections ask for are those of Greenroom's data model (see
// examples/embed.go and docs/portal.md).
var knownAnnotations = map[string]string{
	"backstage.io/managed-by-location":        "The file the catalog read this entity from.",
	"backstage.io/managed-by-origin-location": "The location this entity was first registered through.",
	"backstage.io/source-location":            "Where the entity's source code lives.",
	"backstage.io/view-url":                   "A page that shows the entity's definition.",
	"backstage.io/edit-url":                   "A page where the entity's definition can be edited.",
	"backstage.io/techdocs-ref":               "Where its TechDocs documentation is built from (the Docs tab).",
	"backstage.io/orphan":                     "No location supplies this entity any more; it will be removed.",
	"backstage.io/kubernetes-id":              "The id its Kubernetes objects are labelled with.",
	"backstage.io/code-coverage":              "Whether code coverage is collected for it.",
	"github.com/project-slug":                 "Its GitHub repository (owner/name).",
	"github.com/team-slug":                    "The GitHub team this group stands for.",
	"github.com/user-login":                   "The GitHub login of this user.",
	"gitlab.com/project-slug":                 "Its GitLab project (group/name).",
	"argocd/app-name":                         "The Argo CD application that deploys it (the Deployments tab).",
	"argocd/app-selector":                     "A label selector for the Argo CD applications that deploy it (the Deployments tab).",
	"sentry/project-slug":                     "Its Sentry project, organisation/project (the Errors tab).",
	"sentry.io/project-slug":                  "Its Sentry project (the Errors tab), as Backstage's Sentry plugin names it.",
	"datadoghq.com/service-name":              "Its Datadog APM service name (the Errors tab).",
	"datadog/dashboard-url":                   "Its Datadog dashboard.",
	"opencost/service-label":                  "The value of the service label its cloud cost is allocated by in OpenCost (the Cost tab).",
	"n8n/workflows":                           "The n8n workflows that operate it, comma-separated.",
	"pagerduty.com/integration-key":           "Its PagerDuty service integration.",
	"pagerduty.com/service-id":                "Its PagerDuty service.",
	"jenkins.io/job-full-name":                "Its Jenkins job.",
	"circleci.com/project-slug":               "Its CircleCI project.",
	"lighthouse.com/website-url":              "The website Lighthouse audits for it.",
	"graph.microsoft.com/user-id":             "The Microsoft Entra ID of this user.",
	"graph.microsoft.com/group-id":            "The Microsoft Entra ID of this group.",
}

// annotationRow is one annotation as the Overview shows it.
type annotationRow struct {
	Key, Value, Meaning string
	Link                string // the value as a safe link, when it is one
}

// maxAnnotationValue bounds an annotation value on the page.
const maxAnnotationValue = 2000

func annotationRows(ann map[string]string) []annotationRow {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	// Explained ones first, each group alphabetical.
	slices.SortFunc(keys, func(a, b string) int {
		_, ka := knownAnnotations[a]
		_, kb := knownAnnotations[b]
		if ka != kb {
			if ka {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]annotationRow, 0, len(keys))
	for _, k := range keys {
		v := ann[k]
		row := annotationRow{Key: k, Value: clip(v, maxAnnotationValue), Meaning: knownAnnotations[k]}
		if l := safeURL(v); l != "" && !strings.HasPrefix(strings.ToLower(v), "mailto:") {
			row.Link = l
		} else if l := locationURL(v); l != "" {
			row.Link = l
		}
		out = append(out, row)
	}
	return out
}
