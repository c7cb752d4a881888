package config

// A feature's configuration (auth, permission, scaffolder, techdocs,
// search, ...) lives in a file of its own that registers its section in an
// init function, so adding a feature never edits the shared tables here:
//
//	func init() {
//		registerFeature(feature{
//			sections: []string{"techdocs"},
//			used:     []string{"techdocs.builder", ...},
//			decode:   func(d *decoder, root *node, c *Config) { ... },
//		})
//	}
//
// used and ignored have the meaning of knownKeys; sections become owned
// sections (their unknown keys are reported), and decode runs after the
// core sections are decoded.
type feature struct {
	sections []string
	used     []string
	ignored  []string
	decode   func(d *decoder, root *node, c *Config)
	// validate, when set, checks the decoded Config (cross-key rules) and
	// records problems with d.
	validate func(d *decoder, root *node, c *Config)
}

var features []feature

func registerFeature(f feature) { features = append(features, f) }

func featureSections() []string {
	var out []string
	for _, f := range features {
		out = append(out, f.sections...)
	}
	return out
}

func featureKeys() (used, ignored []string) {
	for _, f := range features {
		used = append(used, f.used...)
		ignored = append(ignored, f.ignored...)
	}
	return used, ignored
}

func (d *decoder) features(root *node, c *Config) {
	for _, f := range features {
		if f.decode != nil {
			f.decode(d, root, c)
		}
	}
	for _, f := range features {
		if f.validate != nil {
			f.validate(d, root, c)
		}
	}
}
