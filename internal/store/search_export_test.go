package store

import "testing"

// SetBulkMinEntities lowers the size from which ReplaceSourceEntities
// rebuilds the search index instead of inserting into it, for one test.
func SetBulkMinEntities(t testing.TB, n int) {
	old := bulkMinEntities
	bulkMinEntities = n
	t.Cleanup(func() { bulkMinEntities = old })
}

// QueryPlans are the plan overrides SetQueryPlan takes; "" is the
// planner's own choice.
var QueryPlans = []string{"", planProbe, planSet, planStream}

// SetQueryPlan makes QueryEntities and EntityFacets use one plan for a
// test, whatever the filter's selectivity.
func SetQueryPlan(t testing.TB, plan string) {
	old := planOverride
	planOverride = plan
	t.Cleanup(func() { planOverride = old })
}

// SetRestitchAnalyzeMin lowers the restitch size from which the catalog
// tables' statistics are refreshed first, for one test.
func SetRestitchAnalyzeMin(t testing.TB, n int) {
	old := restitchAnalyzeMin
	restitchAnalyzeMin = n
	t.Cleanup(func() { restitchAnalyzeMin = old })
}

// SetAnalyzeMinGrowth lowers how many entities batched loads insert before
// the first statistics refresh, for one test.
func SetAnalyzeMinGrowth(t testing.TB, n int) {
	old := analyzeMinGrowth
	analyzeMinGrowth = n
	t.Cleanup(func() { analyzeMinGrowth = old })
}
