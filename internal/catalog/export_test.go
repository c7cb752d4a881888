package catalog

// NextRun exposes nextRun to the external tests.
var NextRun = nextRun
