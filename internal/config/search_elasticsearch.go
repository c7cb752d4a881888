package config

import (
	"net/url"
	"strconv"
	"strings"
)

// Elasticsearch is search.elasticsearch, Backstage's keys
// (plugins/search-backend-module-elasticsearch config.d.ts): set, it makes
// OpenSearch/Elasticsearch the search engine of every replica, which then
// share one index.
type Elasticsearch struct {
	// Provider is "" (a node with optional auth), "elastic" (Elastic
	// Cloud: cloudId and auth), "aws" (requests signed with the default
	// AWS credentials chain) or "opensearch".
	Provider string
	// Nodes are node URLs (node: a string or a list).
	Nodes   []string
	CloudID string
	// Username and Password, or APIKey (which wins), are auth.
	Username string
	Password Secret
	APIKey   Secret
	// Region and Service (es or aoss) sign AWS requests.
	Region, Service string
	// IndexPrefix is put in front of every index name as is.
	IndexPrefix string
	// BatchSize bounds one bulk request (default 1000).
	BatchSize int
	// Fuzziness is queryOptions.fuzziness: "AUTO", a number as text, or ""
	// for Greenroom's rule (the embedded engine's); PrefixLength is
	// queryOptions.prefixLength.
	Fuzziness    string
	PrefixLength int
	// FragmentSize, NumFragments, FragmentDelimiter are highlightOptions.
	FragmentSize      int
	NumFragments      int
	FragmentDelimiter string
	// RejectUnauthorized is clientOptions.ssl.rejectUnauthorized (default
	// true).
	RejectUnauthorized bool
}

func init() {
	const p = "search.elasticsearch"
	registerFeature(feature{
		used: []string{p, p + ".provider", p + ".node", p + ".cloudId", p + ".auth", p + ".auth.username", p + ".auth.password",
			p + ".auth.apiKey", p + ".region", p + ".service", p + ".indexPrefix", p + ".batchSize", p + ".queryOptions",
			p + ".queryOptions.fuzziness", p + ".queryOptions.prefixLength", p + ".highlightOptions",
			p + ".highlightOptions.fragmentSize", p + ".highlightOptions.numFragments", p + ".highlightOptions.fragmentDelimiter",
			p + ".clientOptions", p + ".clientOptions.ssl", p + ".clientOptions.ssl.rejectUnauthorized"},
		ignored: []string{p + ".indexTemplates"},
		decode: func(d *decoder, root *node, c *Config) {
			s := d.section(root, "search")
			if s == nil {
				return
			}
			if n := d.mapping(s.get("elasticsearch"), p); n != nil {
				c.Search.Elasticsearch = d.elasticsearch(n)
				c.Search.ElasticsearchConfigured = c.Search.Elasticsearch != nil
			}
		},
		validate: func(d *decoder, root *node, c *Config) {
			s := d.section(root, "search")
			if s == nil {
				return
			}
			switch {
			case c.Search.Engine == "elasticsearch" && !set(s.get("elasticsearch")):
				d.ps.add(SeverityError, s.get("engine").pos, "search.engine", "engine elasticsearch needs the search.elasticsearch section")
			case c.Search.Engine == "embedded" && set(s.get("elasticsearch")):
				d.ps.add(SeverityWarning, s.get("elasticsearch").pos, p, "search.engine is embedded: search.elasticsearch is not used")
			}
		},
	})
}

// UsesElasticsearch reports whether OpenSearch/Elasticsearch serves
// search: search.elasticsearch is set and search.engine does not say
// embedded.
func (s Search) UsesElasticsearch() bool {
	return s.Elasticsearch != nil && s.Engine != "embedded"
}

func (ps *problems) errorCount() int {
	n := 0
	for _, p := range ps.list {
		if p.Severity == SeverityError {
			n++
		}
	}
	return n
}

func (d *decoder) elasticsearch(n *node) *Elasticsearch {
	const p = "search.elasticsearch"
	before := d.ps.errorCount()
	es := &Elasticsearch{RejectUnauthorized: true}
	d.enum(n.get("provider"), p+".provider", []string{"elastic", "aws", "opensearch"}, &es.Provider)
	nodes := n.get("node")
	if set(nodes) && nodes.kind != kindString && nodes.kind != kindSeq {
		d.ps.expected(nodes.pos, p+".node", "a URL or a list of URLs", nodes)
	} else if set(nodes) {
		items := []*node{nodes}
		if nodes.kind == kindSeq {
			items = nodes.items
		}
		for i, it := range items {
			path := p + ".node"
			if nodes.kind == kindSeq {
				path = indexPath(path, i)
			}
			var s string
			if !d.str(it, path, &s) {
				continue
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				d.ps.expected(it.pos, path, "an absolute http:// or https:// URL", it)
				continue
			}
			es.Nodes = append(es.Nodes, strings.TrimRight(s, "/"))
		}
	}
	d.str(n.get("cloudId"), p+".cloudId", &es.CloudID)
	if a := d.mapping(n.get("auth"), p+".auth"); a != nil {
		d.str(a.get("username"), p+".auth.username", &es.Username)
		d.token(a.get("password"), p+".auth.password", &es.Password)
		d.token(a.get("apiKey"), p+".auth.apiKey", &es.APIKey)
		if es.APIKey == "" && (es.Username == "") != (es.Password == "") {
			d.ps.add(SeverityError, a.pos, p+".auth", "username and password go together (or set apiKey)")
		}
	}
	d.str(n.get("region"), p+".region", &es.Region)
	d.enum(n.get("service"), p+".service", []string{"es", "aoss"}, &es.Service)
	d.str(n.get("indexPrefix"), p+".indexPrefix", &es.IndexPrefix)
	if es.IndexPrefix != "" && (strings.ToLower(es.IndexPrefix) != es.IndexPrefix || strings.ContainsAny(es.IndexPrefix, `\/*?"<>| ,#:`)) {
		d.ps.add(SeverityError, n.get("indexPrefix").pos, p+".indexPrefix", "index names are lowercase, without \\ / * ? \" < > | , # : or spaces")
	}
	var v int64
	if d.integer(n.get("batchSize"), p+".batchSize", "an integer between 1 and 10000", 1, 10000, &v) {
		es.BatchSize = int(v)
	}
	if q := d.mapping(n.get("queryOptions"), p+".queryOptions"); q != nil {
		if f := q.get("fuzziness"); set(f) {
			switch {
			case f.kind == kindString && f.s == "AUTO":
				es.Fuzziness = "AUTO"
			case d.integer(f, p+".queryOptions.fuzziness", "AUTO or an edit distance 0, 1 or 2", 0, 2, &v):
				es.Fuzziness = strconv.FormatInt(v, 10)
			}
		}
		if d.integer(q.get("prefixLength"), p+".queryOptions.prefixLength", "an integer between 0 and 100", 0, 100, &v) {
			es.PrefixLength = int(v)
		}
	}
	if h := d.mapping(n.get("highlightOptions"), p+".highlightOptions"); h != nil {
		if d.integer(h.get("fragmentSize"), p+".highlightOptions.fragmentSize", "an integer between 1 and 100000", 1, 100000, &v) {
			es.FragmentSize = int(v)
		}
		if d.integer(h.get("numFragments"), p+".highlightOptions.numFragments", "an integer between 1 and 100", 1, 100, &v) {
			es.NumFragments = int(v)
		}
		d.str(h.get("fragmentDelimiter"), p+".highlightOptions.fragmentDelimiter", &es.FragmentDelimiter)
	}
	if co := d.mapping(n.get("clientOptions"), p+".clientOptions"); co != nil {
		if ssl := d.mapping(co.get("ssl"), p+".clientOptions.ssl"); ssl != nil {
			if b, ok := d.boolean(ssl.get("rejectUnauthorized"), p+".clientOptions.ssl.rejectUnauthorized"); ok {
				es.RejectUnauthorized = b
			}
		}
	}
	switch es.Provider {
	case "elastic":
		if es.CloudID == "" {
			d.ps.add(SeverityError, n.pos, p+".cloudId", "provider elastic needs cloudId (Elastic Cloud)")
		}
		if es.Username == "" && es.APIKey == "" {
			d.ps.add(SeverityError, n.pos, p+".auth", "provider elastic needs auth.username and auth.password")
		}
	default:
		if len(es.Nodes) == 0 && es.CloudID == "" {
			d.ps.add(SeverityError, n.pos, p+".node", "a node URL is required")
		}
	}
	if es.Provider != "aws" && (es.Region != "" || es.Service != "") {
		d.ps.add(SeverityWarning, n.pos, p+".region", "region and service are read for provider aws only")
	}
	if d.ps.errorCount() > before {
		return nil
	}
	return es
}
