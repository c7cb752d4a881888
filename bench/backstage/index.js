// The real Backstage catalog backend, for `greenroom bench catalog --target
// backstage`: the new backend system with nothing but the catalog plugin.
// Configuration is app-config.yaml, filled in from the environment by the
// bench (BENCH_PORT, BENCH_PG_CONNECTION, BENCH_CATALOG_FILE).
'use strict';

const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.start();
