package opensearch

import "greenroom/internal/search"

// SchemaVersion is the version of the index layout (fields, analyzers); it
// is part of the index name, and an index of another version is rebuilt.
const SchemaVersion = 1

// obj is a JSON object of the query DSL.
type obj = map[string]any

// indexBody is the settings and mappings of a new index: the embedded
// engine's fields and analyzers in OpenSearch terms.
//
//   - gr_name: words as written, lowercased, CJK as bigrams (standard
//     tokenizer, cjk_width, lowercase, cjk_bigram);
//   - gr_text: the same plus English possessives, stop words and the
//     Porter stemmer ("stemmer", language english);
//   - gr_gram: 3- to 12-grams of words for in-word matching (ngram filter;
//     OpenSearch needs index.max_ngram_diff for the spread).
func indexBody(d Dialect) obj {
	possessive := obj{"type": "stemmer", "language": "possessive_english"}
	if d == DialectZinc {
		possessive = obj{"type": "english_possessive_stemmer"}
	}
	settings := obj{
		// One shard: term statistics (and so scores) are the whole
		// index's, as in the embedded engine, and a portal's catalog is far
		// from needing more. Replicas are the cluster operator's choice.
		"number_of_shards": 1,
		"analysis": obj{
			"filter": obj{
				"gr_ngram":      obj{"type": "ngram", "min_gram": search.GramMin, "max_gram": search.GramMax},
				"gr_stop":       obj{"type": "stop", "stopwords": "_english_"},
				"gr_stem":       obj{"type": "stemmer", "language": "english"},
				"gr_possessive": possessive,
			},
			"analyzer": obj{
				"gr_name": obj{"type": "custom", "tokenizer": "standard", "filter": []string{"cjk_width", "lowercase", "cjk_bigram"}},
				"gr_text": obj{"type": "custom", "tokenizer": "standard",
					"filter": []string{"cjk_width", "lowercase", "cjk_bigram", "gr_possessive", "gr_stop", "gr_stem"}},
				"gr_gram": obj{"type": "custom", "tokenizer": "standard", "filter": []string{"lowercase", "gr_ngram"}},
			},
		},
	}
	if d == DialectOpenSearch {
		settings["index"] = obj{"max_ngram_diff": search.GramMax - search.GramMin}
	}
	text := func(an string, highlight bool) obj {
		f := obj{"type": "text", "analyzer": an}
		if d == DialectZinc && highlight {
			f["highlightable"] = true // ZincSearch highlights only fields marked so
		}
		return f
	}
	kw := func() obj { return obj{"type": "keyword"} }
	stored := func() obj { return obj{"type": "keyword", "index": false, "doc_values": false} }
	props := obj{
		"name": text("gr_name", false), "name_kw": kw(),
		"title": text("gr_text", true), "title_raw": text("gr_name", false),
		"tags": text("gr_name", false), "words": text("gr_name", false), "keywords": text("gr_name", false),
		"description": text("gr_text", true), "text": text("gr_text", true),
		"grams":    text("gr_gram", false),
		"location": stored(), "src": stored(),
		"updated": obj{"type": "date"},
	}
	if d == DialectZinc {
		// ZincSearch has no doc_values switch.
		props["location"] = obj{"type": "keyword", "index": false}
		props["src"] = obj{"type": "keyword", "index": false}
	}
	for _, f := range []string{"doctype", "kind", "type", "lifecycle", "owner", "namespace", "system", "category", "tags_kw", "ref"} {
		props[f] = kw()
	}
	return obj{"settings": settings, "mappings": obj{"dynamic": false, "properties": props}}
}
