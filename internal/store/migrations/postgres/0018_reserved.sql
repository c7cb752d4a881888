-- Placeholder on branch feat/rawskip only, so that 0019 applies: version 0018
-- is feat/storeread's. Drop this file when merging that branch.
SELECT 1;
