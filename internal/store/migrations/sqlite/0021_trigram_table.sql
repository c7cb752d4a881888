-- Full-text filters (fullTextFilterTerm) are substring matches, LIKE
-- '%term%', on the lowercased values of the searched keys, which no B-tree
-- can answer: uncached they read every row of those keys (16 ms for the
-- name and title of 60k components) and then test the term entity by
-- entity as a page's walk goes. PostgreSQL has a trigram index for them
-- (0018); this is SQLite's: an FTS5 table of the values of the same keys
-- (trigramKeys in search_dialect.go), tokenized into trigrams, which finds
-- the rows holding a term of three characters or more as a phrase of its
-- trigrams (2–3 ms for a common word at 100k entities). The values are
-- lowercased already, so the match is case-sensitive, as the LIKE over
-- them is in effect.
--
-- Contentless: the values stay in entity_search; a row's rowid names its
-- search row, its entity's kind among the standard ones and its key
-- (textRowID in search_text.go).
--
-- The store fills it and creates the triggers that keep it in step with
-- entity_search (search_text.go) when it opens the database, and again
-- after a bulk load, which drops them while it writes; queries use the
-- table only while those triggers exist.
CREATE VIRTUAL TABLE entity_text USING fts5(
    value,
    tokenize = 'trigram case_sensitive 1',
    content = '',
    contentless_delete = 1
);
