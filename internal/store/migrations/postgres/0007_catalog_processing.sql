-- Catalog processing state (package catalog, issue 4): orphans, per-entity
-- processing errors, and which entity emitted each relation.
--
-- orphaned_at is set when no current source supplies the entity any more;
-- the entity keeps its data and the relations it emitted and is served with
-- the backstage.io/orphan annotation until the orphan strategy deletes it
-- or a source claims it again.
ALTER TABLE entities ADD COLUMN orphaned_at TIMESTAMPTZ;
-- The entity's latest processing errors, a JSON array of Backstage
-- SerializedError objects, served as status.items; '' when there are none.
ALTER TABLE entities ADD COLUMN errors TEXT NOT NULL DEFAULT '';

CREATE INDEX entities_orphaned ON entities (orphaned_at) WHERE orphaned_at IS NOT NULL;

-- The entity whose processing emitted the relation: an orphan keeps the
-- relations it emitted and loses them when it is deleted or claimed by
-- another source. '' for rows written before this migration.
ALTER TABLE relations ADD COLUMN origin_ref TEXT NOT NULL DEFAULT '' COLLATE "C";

CREATE INDEX relations_origin_ref ON relations (origin_ref);

-- Refresh every source once more, whatever its hash, so that its relations
-- are rewritten with their origin.
UPDATE catalog_sources SET hash = '';
