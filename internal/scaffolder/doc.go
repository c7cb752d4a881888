// Package scaffolder is Greenroom's golden-path engine, compatible with
// Backstage's scaffolder: Template entities of apiVersion
// scaffolder.backstage.io/v1beta3 (parameters as JSON Schema steps, steps
// running actions, output links and text), `${{ }}` expressions with
// Nunjucks semantics rendered by a Jinja2 engine (gonja) with Backstage's
// filters, built-in actions with Backstage's ids and inputs, and durable
// tasks whose steps' state is stored so that a task resumes after a crash
// from its last completed step.
//
// The package holds the business rules only. It reads templates through
// the small Catalog interface, keeps tasks through TaskStore (implemented
// by internal/store) and queues work through an Enqueuer (the jobs pool);
// transports (REST, portal, CLI) call Service.
package scaffolder
