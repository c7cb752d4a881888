package config

// Search is the search section. Greenroom's engine is embedded (a bleve
// index in the data dir) unless Backstage's search.elasticsearch section
// is set (search_elasticsearch.go); search.pg is accepted and reported as
// not used: the embedded engine replaces the PostgreSQL one.
type Search struct {
	// Engine is search.engine: "embedded" or "elasticsearch"; "" means
	// elasticsearch when search.elasticsearch is set, embedded otherwise.
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
	// (and valid).
	ElasticsearchConfigured bool
	// Elasticsearch is search.elasticsearch, nil when not set.
	Elasticsearch *Elasticsearch
}

func init() {
	registerFeature(feature{
		sections: []string{"search"},
		used: []string{"search.engine", "search.embedded", "search.embedded.directory", "search.embedded.rebuildOnStart",
			"search.maxPageLimit"},
		ignored: []string{"search.pg", "search.collators", "search.maxTermLength", "search.query",
			"search.defaultPageLimit"},
		decode: func(d *decoder, root *node, c *Config) {
			s := d.section(root, "search")
			if s == nil {
				return
			}
			d.enum(s.get("engine"), "search.engine", []string{"embedded", "elasticsearch"}, &c.Search.Engine)
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
		},
	})
}
