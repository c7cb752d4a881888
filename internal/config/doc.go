// Package config loads Greenroom's configuration from Backstage-compatible
// app-config.yaml files.
//
// Load reads several files in order and merges them the way Backstage's
// config-loader does (objects deeply, arrays and scalars replaced, later
// files win), applies ${VAR} substitution and the $env, $file and $include
// forms, then APP_CONFIG_ environment overrides, and decodes the keys
// Greenroom uses (app, backend, catalog and greenroom) into a typed Config.
// Every value keeps the file, line and column it came from, so each Problem
// points at the place to fix. The merged tree stays available (Raw, Decode,
// Origin) for feature packages that read their own sections, such as
// integrations.github.
//
// The package reads files only; it must not open databases, listen on
// sockets, reach the network or log. It holds no package-level state: every
// Load is independent, and callers pass sub-structs of Config to the
// constructors that need them.
package config
