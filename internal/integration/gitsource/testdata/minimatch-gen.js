// Run: npm install minimatch@9 && node minimatch-gen.js > minimatch.json
// Generates testdata/minimatch.json: what minimatch (the version Backstage's
// URL readers use) answers for each catalogPath pattern and repository path,
// with leading slashes stripped from the pattern as GithubUrlReader does.
const { minimatch } = require('minimatch');
const version = require('minimatch/package.json').version;
const patterns = [
  '/catalog-info.yaml', 'catalog-info.yaml', '//catalog-info.yaml',
  '/**/catalog-info.yaml', '**/catalog-info.yaml',
  '/services/*/catalog-info.yaml', '/services/**/catalog-info.yaml',
  '/**/*.yaml', '/*.yaml', '/**', '/services/**', '/**/catalog-*.y?ml',
  '/.github/catalog-info.yaml', '/.github/*.yaml', '/**/.catalog/*.yaml',
  '/{services,libs}/*/catalog-info.yaml', '/**/catalog-info.{yaml,yml}',
  '/team-{1..3}/catalog-info.yaml', '/[a-c]*/catalog-info.yaml', '/[!a-c]*/catalog-info.yaml',
  '/services/a**/catalog-info.yaml', '/**/**/catalog-info.yaml', '/services/\\*/catalog-info.yaml',
  '/{a}/catalog-info.yaml', '/services/*/*/catalog-info.yaml', '/**/services/**/catalog-info.yaml',
];
const paths = [
  'catalog-info.yaml', 'catalog-info.yml', 'other.yaml', 'catalog-api.yaml', 'catalog-info.yaml.bak',
  'services/catalog-info.yaml', 'services/a/catalog-info.yaml', 'services/b/catalog-info.yml',
  'services/a/b/catalog-info.yaml', 'services/a/b/c/catalog-info.yaml', 'services/.hidden/catalog-info.yaml',
  'services/*/catalog-info.yaml', 'services/ab/catalog-info.yaml',
  'libs/x/catalog-info.yaml', 'apps/x/catalog-info.yaml', 'd/catalog-info.yaml', 'b/catalog-info.yaml',
  '.github/catalog-info.yaml', '.github/workflow.yaml', 'x/.catalog/one.yaml', '.catalog/one.yaml',
  'team-1/catalog-info.yaml', 'team-4/catalog-info.yaml', 'a/catalog-info.yaml', '{a}/catalog-info.yaml',
  'Services/a/catalog-info.yaml', 'x/services/y/catalog-info.yaml', 'services', '.catalog-info.yaml',
];
const cases = [];
for (const p of patterns) {
  const m = new minimatch.Minimatch(p.replace(/^\/+/, ''));
  for (const path of paths) cases.push({ pattern: p, path, match: m.match(path) });
}
process.stdout.write(JSON.stringify({ generator: `minimatch ${version} (default options), leading slashes stripped`, cases }, null, 1) + '\n');
