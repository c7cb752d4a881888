// Package catalogtest generates large, realistic Backstage catalogs for
// benchmarks and tests: groups in a tree, users who are members of them,
// domains, systems, APIs, resources and components owned by groups and
// linked by every built-in relation (ownedBy, memberOf, childOf, partOf,
// providesApi, consumesApi, dependsOn), and writes them as multi-document
// catalog-info YAML files behind one Location, as Backstage reads them.
//
// Every generated entity is valid by Backstage's rules and every reference
// resolves to another generated entity. Output is deterministic for a given
// size and seed.
//
// It must not import the store, any transport or any provider: it knows
// the entity format only.
package catalogtest
