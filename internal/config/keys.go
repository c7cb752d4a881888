package config

import (
	"sort"
	"strconv"
	"strings"
)

// keyUse says what Greenroom does with a key under the sections it owns.
type keyUse uint8

const (
	keyUsed    keyUse = iota + 1 // read by Greenroom
	keyIgnored                   // a Backstage key Greenroom does not read (yet)
)

// ownedSections are the top-level sections whose keys Greenroom checks.
// Every other top-level section is kept as it is for later features.
func ownedSections() []string {
	return append([]string{"app", "backend", "catalog", "greenroom", "integrations"}, featureSections()...)
}

// knownKeys is the one table of every key known under the owned sections.
// Paths use "[]" for list items. Keys marked keyIgnored are Backstage keys
// that Greenroom accepts and does not read; their contents are not checked.
func knownKeys() map[string]keyUse {
	used := []string{
		"app.baseUrl", "app.title",
		"backend.baseUrl", "backend.trustProxy", "backend.listen", "backend.listen.host", "backend.listen.port",
		"backend.database", "backend.database.client", "backend.database.connection",
		"backend.database.connection.host", "backend.database.connection.port",
		"backend.database.connection.user", "backend.database.connection.password",
		"backend.database.connection.database", "backend.database.connection.ssl",
		"backend.database.connection.ssl.rejectUnauthorized", "backend.database.connection.ssl.ca",
		"backend.database.connection.directory", "backend.database.connection.filename",
		"catalog.locations", "catalog.locations[].type", "catalog.locations[].target",
		"catalog.locations[].rules", "catalog.locations[].rules[].allow",
		"greenroom.dataDir", "greenroom.demo",
		"greenroom.log", "greenroom.log.format", "greenroom.log.level",
		"greenroom.server", "greenroom.server.requestTimeout", "greenroom.server.shutdownTimeout",
		"greenroom.server.maxBodyBytes", "greenroom.server.memoryLimitBytes",
		"greenroom.database", "greenroom.database.connectTimeout",
		// auth.go
		"backend.auth", "backend.auth.externalAccess", "backend.auth.externalAccess[].type",
		"backend.auth.externalAccess[].options", "backend.auth.externalAccess[].options.token",
		"backend.auth.externalAccess[].options.subject", "backend.auth.externalAccess[].accessRestrictions",
		"backend.auth.externalAccess[].accessRestrictions[].plugin",
		"backend.auth.externalAccess[].accessRestrictions[].permission",
		"backend.auth.externalAccess[].accessRestrictions[].permissionAttribute",
		"backend.auth.externalAccess[].accessRestrictions[].permissionAttribute.action",
		"catalog.rules", "catalog.rules[].allow", "catalog.rules[].allow[].kind", "catalog.rules[].allow[].spec.type",
		"catalog.rules[].locations", "catalog.rules[].locations[].type", "catalog.rules[].locations[].exact",
		"catalog.rules[].locations[].pattern",
		"catalog.orphanStrategy", "catalog.processingInterval",
		"greenroom.catalog", "greenroom.catalog.customKinds", "greenroom.catalog.customKinds[].apiVersion",
		"greenroom.catalog.customKinds[].kind", "greenroom.catalog.customKinds[].schema",
	}
	ignored := []string{
		"app.support", "app.routes", "app.signOutUrl", "app.listen", "app.https", "app.packages",
		"app.extensions", "app.experimental", "app.analytics", "app.datadogRum", "app.googleAnalyticsTrackingId",

		"backend.lifecycle", "backend.https", "backend.server", "backend.auditor",
		"backend.actions", "backend.cache", "backend.cors", "backend.csp", "backend.referrer",
		"backend.health", "backend.metrics", "backend.tracing", "backend.logger", "backend.rateLimit",
		"backend.workingDirectory", "backend.packages", "backend.startup",

		"backend.database.prefix", "backend.database.ensureExists", "backend.database.ensureSchemaExists",
		"backend.database.pluginDivisionMode", "backend.database.role", "backend.database.knexConfig",
		"backend.database.skipMigrations", "backend.database.plugin",

		"backend.database.connection.connectionString", "backend.database.connection.type",
		"backend.database.connection.instance", "backend.database.connection.region",
		"backend.database.connection.ipAddressType", "backend.database.connection.tokenCredential",
		"backend.database.connection.application_name", "backend.database.connection.statement_timeout",
		"backend.database.connection.query_timeout", "backend.database.connection.lock_timeout",
		"backend.database.connection.idle_in_transaction_session_timeout",
		"backend.database.connection.connectionTimeoutMillis", "backend.database.connection.keepAlive",
		"backend.database.connection.options",
		"backend.database.connection.ssl.cert", "backend.database.connection.ssl.key",
		"backend.database.connection.ssl.servername",

		"backend.auth.keys", "backend.auth.pluginKeyStore", "backend.auth.dangerouslyDisableDefaultAuthPolicy",
		"backend.auth.omitIdentityTokenOwnershipClaim", "backend.auth.externalAccess[].options.secret",
		"backend.auth.externalAccess[].options.url", "backend.auth.externalAccess[].options.issuer",
		"backend.auth.externalAccess[].options.algorithm", "backend.auth.externalAccess[].options.audience",
		"backend.auth.externalAccess[].options.subjectPrefix",

		"catalog.readonly",
		"catalog.orphanProviderStrategy", "catalog.stitchingStrategy", "catalog.processors",
		"catalog.import", "catalog.useUrlReadersSearch", "catalog.disableRelationsCompatibility",
	}
	iu, ii := integrationKeys()
	used, ignored = append(used, iu...), append(ignored, ii...)
	pu, pi := githubProviderKeys()
	used, ignored = append(used, pu...), append(ignored, pi...)
	gu, gi := gitProviderKeys()
	used, ignored = append(used, gu...), append(ignored, gi...)
	fu, fi := featureKeys() // features.go
	used, ignored = append(used, fu...), append(ignored, fi...)
	m := make(map[string]keyUse, len(used)+len(ignored))
	for _, k := range used {
		m[k] = keyUsed
	}
	for _, k := range ignored {
		m[k] = keyIgnored
	}
	for _, k := range githubOrgProviderKeys() { // providers_githuborg.go
		m[k] = keyUsed
	}
	return m
}

// otherSections are Backstage's other well-known top-level sections; a
// top-level key close to an owned section name but listed here is no typo.
func otherSections() []string {
	return []string{"techdocs", "auth", "scaffolder", "organization", "proxy", "search",
		"permission", "kubernetes", "lighthouse", "homepage", "discovery", "events", "signals", "notifications",
		"enableExperimentalRedirectFlow", "costInsights", "sentry", "rollbar", "jenkins", "sonarqube", "argocd",
		"pagerDuty", "gitops", "aws", "azureDevOps", "github", "gitlab"}
}

// keyChecker reports unknown keys (warnings, with a suggestion) and known
// Backstage keys Greenroom ignores (infos) under the owned sections.
type keyChecker struct {
	known    map[string]keyUse
	children map[string][]string // parent pattern -> sorted child names
	ps       *problems
}

func newKeyChecker(ps *problems) *keyChecker {
	kc := &keyChecker{known: knownKeys(), children: map[string][]string{}, ps: ps}
	for _, s := range ownedSections() {
		kc.known[s] = keyUsed
	}
	for k := range kc.known {
		parent, name := "", k
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			parent, name = k[:i], k[i+1:]
		}
		kc.children[parent] = append(kc.children[parent], name)
	}
	for _, names := range kc.children {
		sort.Strings(names)
	}
	return kc
}

func (kc *keyChecker) check(root *node) {
	if root == nil || root.kind != kindMap {
		return
	}
	others := map[string]bool{}
	for _, s := range otherSections() {
		others[s] = true
	}
	for _, k := range root.keys {
		v := root.vals[k]
		if kc.known[k] == keyUsed {
			kc.descend(v, k, k)
			continue
		}
		if others[k] || len(k) < 5 {
			continue
		}
		for _, s := range []string{"backend", "catalog", "greenroom"} {
			if d := levenshtein(strings.ToLower(k), s); d <= 2 {
				kc.ps.add(SeverityWarning, v.pos, k, "unknown top-level section "+strconv.Quote(k)+"; did you mean "+strconv.Quote(s)+"?")
				break
			}
		}
	}
}

// descend checks the contents of a used key when the table lists children.
func (kc *keyChecker) descend(n *node, pattern, path string) {
	switch n.kind {
	case kindMap:
		if len(kc.children[pattern]) > 0 {
			kc.walk(n, pattern, path)
		}
	case kindSeq:
		if len(kc.children[pattern+"[]"]) == 0 {
			return
		}
		for i, it := range n.items {
			if it.kind == kindMap {
				kc.walk(it, pattern+"[]", indexPath(path, i))
			}
		}
	}
}

func (kc *keyChecker) walk(n *node, pattern, path string) {
	for _, k := range n.keys {
		v := n.vals[k]
		kp, p := pattern+"."+k, joinPath(path, k)
		switch kc.known[kp] {
		case keyUsed:
			kc.descend(v, kp, p)
		case keyIgnored:
			kc.ps.add(SeverityInfo, v.pos, p, "ignored by Greenroom (yet)")
		default:
			msg := "unknown key " + strconv.Quote(k)
			if s := suggest(k, kc.children[pattern]); s != "" {
				msg += "; did you mean " + strconv.Quote(s) + "?"
			}
			kc.ps.add(SeverityWarning, v.pos, p, msg)
		}
	}
}

// suggest returns the candidate closest to key (case-insensitively) within
// an edit distance of 2, or "".
func suggest(key string, candidates []string) string {
	best, bestD := "", 3
	lk := strings.ToLower(key)
	for _, c := range candidates {
		d := levenshtein(lk, strings.ToLower(c))
		if d < bestD && d < len(key) {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, in bytes.
func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
