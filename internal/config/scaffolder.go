package config

import (
	"fmt"
	"net/url"
)

// Scaffolder is the scaffolder section: Backstage's keys
// (scaffolder.defaultAuthor, scaffolder.defaultCommitMessage) and
// Greenroom's own for its actions.
type Scaffolder struct {
	// DefaultAuthor is the commit author of publish actions
	// (scaffolder.defaultAuthor.name/email).
	DefaultAuthorName  string
	DefaultAuthorEmail string
	// DefaultCommitMessage is scaffolder.defaultCommitMessage.
	DefaultCommitMessage string
	// PublishHosts limits the hosts publish:git pushes to
	// (scaffolder.publishHosts); empty allows any.
	PublishHosts []string
	// BundledTemplates is scaffolder.bundledTemplates: whether the
	// golden-path templates shipped in the binary are put in the catalog.
	// nil (not set) follows the demo: loaded when the demo company is.
	BundledTemplates *bool
	// Sentry and N8N are the endpoints of sentry:create-project and
	// n8n:trigger (scaffolder.sentry.baseUrl/token, scaffolder.n8n.baseUrl/token).
	SentryBaseURL string
	SentryToken   Secret
	N8NBaseURL    string
	N8NToken      Secret
}

func init() {
	registerFeature(feature{
		sections: []string{"scaffolder"},
		used: []string{
			"scaffolder.defaultAuthor", "scaffolder.defaultAuthor.name", "scaffolder.defaultAuthor.email",
			"scaffolder.defaultCommitMessage", "scaffolder.publishHosts", "scaffolder.bundledTemplates",
			"scaffolder.sentry", "scaffolder.sentry.baseUrl", "scaffolder.sentry.token",
			"scaffolder.n8n", "scaffolder.n8n.baseUrl", "scaffolder.n8n.token",
		},
		ignored: []string{
			// Backstage keys Greenroom accepts and does not read.
			"scaffolder.concurrentTasksLimit", "scaffolder.taskTimeoutJanitorFrequency",
			"scaffolder.processingInterval", "scaffolder.EXPERIMENTAL_recoverTasks",
			"scaffolder.EXPERIMENTAL_recoverTasksTimeout", "scaffolder.defaultEnvironment",
		},
		decode: decodeScaffolder,
	})
}

func decodeScaffolder(d *decoder, root *node, c *Config) {
	n := d.section(root, "scaffolder")
	if n == nil {
		return
	}
	s := &c.Scaffolder
	if a := d.mapping(n.get("defaultAuthor"), "scaffolder.defaultAuthor"); a != nil {
		d.str(a.get("name"), "scaffolder.defaultAuthor.name", &s.DefaultAuthorName)
		d.str(a.get("email"), "scaffolder.defaultAuthor.email", &s.DefaultAuthorEmail)
	}
	d.str(n.get("defaultCommitMessage"), "scaffolder.defaultCommitMessage", &s.DefaultCommitMessage)
	if b, ok := d.boolean(n.get("bundledTemplates"), "scaffolder.bundledTemplates"); ok {
		s.BundledTemplates = &b
	}
	if hosts := n.get("publishHosts"); set(hosts) {
		if hosts.kind != kindSeq {
			d.ps.expected(hosts.pos, "scaffolder.publishHosts", "a list of host names", hosts)
		} else {
			for i, h := range hosts.items {
				var v string
				if d.str(h, fmt.Sprintf("scaffolder.publishHosts[%d]", i), &v) {
					s.PublishHosts = append(s.PublishHosts, v)
				}
			}
		}
	}
	endpoint := func(key string, base *string, token *Secret) {
		m := d.mapping(n.get(key), "scaffolder."+key)
		if m == nil {
			return
		}
		if d.str(m.get("baseUrl"), "scaffolder."+key+".baseUrl", base) {
			if u, err := url.Parse(*base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				d.ps.expected(m.get("baseUrl").pos, "scaffolder."+key+".baseUrl", "an http(s) URL", m.get("baseUrl"))
				*base = ""
			}
		}
		var tok string
		if d.str(m.get("token"), "scaffolder."+key+".token", &tok) {
			*token = Secret(tok)
		}
	}
	endpoint("sentry", &s.SentryBaseURL, &s.SentryToken)
	endpoint("n8n", &s.N8NBaseURL, &s.N8NToken)
}

// BundledTemplatesEnabled reports whether the shipped templates are loaded.
func (c *Config) BundledTemplatesEnabled() bool {
	if c.Scaffolder.BundledTemplates != nil {
		return *c.Scaffolder.BundledTemplates
	}
	return c.DemoEnabled()
}
