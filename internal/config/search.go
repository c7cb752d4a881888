package config

// Search is the search section. Greenroom's engine is embedded (a bleve
// index in the data dir); Backstage's search.elasticsearch and search.pg
// sections are accepted and reported as not used: Greenroom does not talk
// to OpenSearch/Elasticsearch yet, and its embedded engine replaces the
// PostgreSQL one.
type Search struct {
	// Engine is search.engine: "embedded" (the default and only engine;
	// "" means it).
	Engine string
	// Directory is search.embedded.directory, where the index lives;
	// "" means <greenroom.dataDir>/search.
	Directory string
	// NoRebuildOnStart is search.embedded.rebuildOnStart: false. By
	// default the index is rebuilt in the background at every start,
	// catching up changes made while Greenroom was stopped; with false only
	// a missing, older or damaged index is rebuilt.
	NoRebuildOnStart bool
	// MaxPageLimit is search.maxPageLimit, Backstage's bound on pageLimit
	// (1 to 100; 0 means 100).
	MaxPageLimit int
	// ElasticsearchConfigured reports that search.elasticsearch is set
	// (accepted, not used).
	ElasticsearchConfigured bool
}

func init() {
	registerFeature(feature{
		sections: []string{"search"},
		used: []string{"search.engine", "search.embedded", "search.embedded.directory", "search.embedded.rebuildOnStart",
			"search.maxPageLimit"},
		ignored: []string{"search.elasticsearch", "search.pg", "search.collators", "search.maxTermLength", "search.query",
			"search.defaultPageLimit"},
		decode: func(d *decoder, root *node, c *Config) {
			s := d.section(root, "search")
			if s == nil {
				return
			}
			d.enum(s.get("engine"), "search.engine", []string{"embedded"}, &c.Search.Engine)
			if e := d.mapping(s.get("embedded"), "search.embedded"); e != nil {
				d.str(e.get("directory"), "search.embedded.directory", &c.Search.Directory)
				if v, ok := d.boolean(e.get("rebuildOnStart"), "search.embedded.rebuildOnStart"); ok {
					c.Search.NoRebuildOnStart = !v
				}
			}
			var n int64
			if d.integer(s.get("maxPageLimit"), "search.maxPageLimit", "an integer between 1 and 100", 1, 100, &n) {
				c.Search.MaxPageLimit = int(n)
			}
			if es := s.get("elasticsearch"); set(es) {
				c.Search.ElasticsearchConfigured = true
				d.ps.add(SeverityWarning, es.pos, "search.elasticsearch", "OpenSearch/Elasticsearch is not implemented yet; the embedded engine serves search (each replica keeps its own index, fed by change events)")
			}
		},
	})
}
