-- Search analytics, aggregated per day and normalised term (lowercased,
-- spaces collapsed, at most 200 bytes); no user is recorded. Queries counts
-- first-page searches, zero_results those that found nothing; clicks counts
-- result clicks by 1-based rank.
CREATE TABLE search_queries (
    day          TEXT NOT NULL,          -- YYYY-MM-DD (UTC)
    term         TEXT NOT NULL,
    queries      BIGINT NOT NULL,
    zero_results BIGINT NOT NULL,
    PRIMARY KEY (day, term)
);

CREATE TABLE search_clicks (
    day    TEXT NOT NULL,
    term   TEXT NOT NULL,
    rank   BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (day, term, rank)
);
