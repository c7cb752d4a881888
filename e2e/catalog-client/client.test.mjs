// The real @backstage/catalog-client against a live `greenroom serve`
// loaded with the Acme Ledger demo company. GREENROOM_URL is the server's
// base URL; internal/cli's TestCatalogClient starts the server and runs this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogClient } from '@backstage/catalog-client';
// The predicate language's own evaluator, a dependency of catalog-client:
// what the server answers is checked against it, entity by entity.
import { filterPredicateToFilterFunction } from '@backstage/filter-predicates';

const base = process.env.GREENROOM_URL;
if (!base) throw new Error('GREENROOM_URL is not set');

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` },
  fetchApi: { fetch },
});

const refOf = e => `${e.kind}:${e.metadata.namespace}/${e.metadata.name}`.toLowerCase();

// A client that records the requests it sends, as "METHOD /path".
function recordingClient() {
  const calls = [];
  const recording = new CatalogClient({
    discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` },
    fetchApi: {
      fetch: (url, init) => {
        calls.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
        return fetch(url, init);
      },
    },
  });
  return { recording, calls };
}

// The refs of all entities the predicate selects, by the client's evaluator.
async function expectedRefs(predicate) {
  const match = filterPredicateToFilterFunction(predicate);
  return (await client.getEntities()).items.filter(e => match(e)).map(refOf);
}

test('getEntities filters, projects, orders and pages', async () => {
  const all = await client.getEntities();
  assert.ok(all.items.length >= 100, `only ${all.items.length} entities`);

  const services = await client.getEntities({ filter: { kind: 'Component', 'spec.type': 'service' } });
  assert.ok(services.items.length >= 15);
  for (const e of services.items) {
    assert.equal(e.kind, 'Component');
    assert.equal(e.spec.type, 'service');
    assert.ok(e.metadata.uid && e.metadata.etag, 'stitched entities carry uid and etag');
    assert.ok(Array.isArray(e.relations));
  }

  // OR across filter sets, existence, case-insensitivity.
  const usersOrGroups = await client.getEntities({ filter: [{ kind: 'user' }, { kind: 'GROUP' }] });
  const kinds = new Set(usersOrGroups.items.map(e => e.kind));
  assert.deepEqual([...kinds].sort(), ['Group', 'User']);
  const tagged = await client.getEntities({ filter: { 'metadata.tags': 'java' } });
  assert.ok(tagged.items.length > 0 && tagged.items.every(e => e.metadata.tags.includes('java')));

  const projected = await client.getEntities({
    filter: { kind: 'System' },
    fields: ['kind', 'metadata.name'],
    order: { field: 'metadata.name', order: 'desc' },
  });
  const names = projected.items.map(e => e.metadata.name);
  assert.deepEqual(names, [...names].sort().reverse());
  for (const e of projected.items) assert.deepEqual(Object.keys(e).sort(), ['kind', 'metadata']);

  const page1 = await client.getEntities({ filter: { kind: 'User' }, order: { field: 'metadata.name', order: 'asc' }, limit: 5 });
  const page2 = await client.getEntities({ filter: { kind: 'User' }, order: { field: 'metadata.name', order: 'asc' }, limit: 5, offset: 5 });
  assert.equal(page1.items.length, 5);
  assert.equal(page2.items.length, 5);
  assert.ok(page1.items[4].metadata.name < page2.items[0].metadata.name);
});

test('relations are stitched in both directions and filterable', async () => {
  const svc = (await client.getEntities({ filter: { kind: 'Component', 'spec.type': 'service' }, limit: 1 })).items[0];
  const owned = svc.relations.find(r => r.type === 'ownedBy');
  assert.ok(owned, 'a service has an ownedBy relation');
  const owner = await client.getEntityByRef(owned.targetRef);
  assert.ok(owner, `owner ${owned.targetRef} exists`);
  assert.ok(owner.relations.some(r => r.type === 'ownerOf' && r.targetRef === refOf(svc)), 'the owner has the inverse relation');
  const byRelation = await client.getEntities({ filter: { kind: 'component', 'relations.ownedBy': owned.targetRef } });
  assert.ok(byRelation.items.some(e => refOf(e) === refOf(svc)));
});

test('getEntityByRef and getEntitiesByRefs', async () => {
  assert.equal(await client.getEntityByRef('component:default/no-such-thing'), undefined);
  const some = (await client.getEntities({ filter: { kind: 'API' }, limit: 3 })).items;
  const refs = some.map(refOf);
  const got = await client.getEntitiesByRefs({ entityRefs: [refs[0], 'api:default/missing', refs[1]], fields: ['metadata.name'] });
  assert.equal(got.items.length, 3);
  assert.equal(got.items[0].metadata.name, some[0].metadata.name);
  assert.equal(got.items[1], undefined);
  assert.equal(got.items[2].metadata.name, some[1].metadata.name);
});

test('queryEntities walks cursors exactly once, with totals and full text', async () => {
  const seen = new Set();
  let res = await client.queryEntities({ filter: { kind: 'User' }, limit: 7, orderFields: { field: 'metadata.name', order: 'asc' }, totalItems: true });
  const total = res.totalItems;
  assert.ok(total >= 45, `totalItems ${total}`);
  for (;;) {
    for (const e of res.items) {
      assert.ok(!seen.has(refOf(e)), `duplicate ${refOf(e)}`);
      seen.add(refOf(e));
    }
    if (!res.pageInfo.nextCursor) break;
    res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 7 });
  }
  assert.equal(seen.size, total);

  const text = await client.queryEntities({ filter: { kind: 'Component' }, fullTextFilter: { term: 'INVOICE', fields: ['metadata.name'] } });
  assert.ok(text.items.length > 0 && text.items.every(e => e.metadata.name.includes('invoice')));
});

test('getEntityFacets counts values', async () => {
  const { facets } = await client.getEntityFacets({ facets: ['kind', 'spec.lifecycle'], filter: { kind: 'Component' } });
  assert.deepEqual(facets.kind.map(f => f.value), ['Component']);
  const total = facets['spec.lifecycle'].reduce((n, f) => n + f.count, 0);
  const comps = (await client.getEntities({ filter: { kind: 'Component' } })).items.length;
  assert.equal(total, comps);
});

test('refreshEntity is accepted; errors keep Backstage shapes', async () => {
  await client.refreshEntity('component:default/invoice-service');
  await assert.rejects(() => client.getEntities({ filter: { kind: 'Component' }, limit: -1 }), err => err.name === 'ResponseError' && /400/.test(err.message));
});

test('removeEntityByUid removes; a refresh brings it back from its location', async () => {
  const res = (await client.getEntities({ filter: { kind: 'Resource' }, order: { field: 'metadata.name', order: 'asc' }, limit: 1 })).items[0];
  const ref = refOf(res);
  assert.deepEqual(await client.getEntityByRef(ref).then(e => e.metadata.uid), res.metadata.uid);
  await client.removeEntityByUid(res.metadata.uid);
  assert.equal(await client.getEntityByRef(ref), undefined);
  // As in Backstage, the deleted entity is unknown to refresh (404);
  // refreshing another entity of its location brings it back.
  await assert.rejects(() => client.refreshEntity(ref), err => err.name === 'ResponseError' && /404/.test(err.message));
  await client.refreshEntity('component:default/invoice-service');
  const deadline = Date.now() + 10000;
  let back;
  while (!(back = await client.getEntityByRef(ref)) && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 50));
  }
  assert.ok(back, `${ref} did not come back after a refresh`);
  assert.notEqual(back.metadata.uid, res.metadata.uid, 'a re-created entity gets a new uid');
});

test('validateEntity reports Backstage rule violations', async () => {
  const entity = { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'fresh-service' }, spec: { type: 'service', lifecycle: 'experimental', owner: 'team-payments' } };
  assert.deepEqual(await client.validateEntity(entity, 'url:https://github.com/acme-ledger/fresh/blob/main/catalog-info.yaml'), { valid: true });
  const bad = await client.validateEntity({ ...entity, metadata: { name: 'no spaces allowed' } }, 'url:https://github.com/acme-ledger/fresh/blob/main/catalog-info.yaml');
  assert.equal(bad.valid, false);
  assert.ok(bad.errors.some(e => /metadata\.name/.test(e.message)), JSON.stringify(bad.errors));
});

test('queryEntities with a predicate query posts it, and its cursors keep posting it', async () => {
  const query = {
    $all: [
      { kind: 'component' },
      { 'spec.type': { $in: ['service', 'website'] } },
      { $not: { 'spec.lifecycle': 'experimental' } },
      { 'metadata.annotations.backstage.io/techdocs-ref': { $exists: true } },
    ],
  };
  const want = await expectedRefs(query);
  assert.ok(want.length >= 6, `only ${want.length} entities match`);
  const { recording, calls } = recordingClient();
  let res = await recording.queryEntities({ query, limit: 2, orderFields: { field: 'metadata.name', order: 'desc' } });
  assert.equal(res.totalItems, want.length);
  const walked = [];
  for (;;) {
    walked.push(...res.items);
    if (!res.pageInfo.nextCursor) break;
    res = await recording.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 2 });
  }
  assert.deepEqual(walked.map(refOf).sort(), [...want].sort());
  const names = walked.map(e => e.metadata.name);
  assert.deepEqual(names, [...names].sort().reverse(), 'ordered by name, descending');
  assert.ok(calls.length > 2 && calls.every(c => c === 'POST /api/catalog/entities/by-query'), calls.join(', '));

  // Back from the last page: prevCursor walks keep the predicate too.
  const back = [];
  for (let c = res.pageInfo.prevCursor; c; ) {
    const page = await recording.queryEntities({ cursor: c, limit: 2 });
    back.unshift(...page.items);
    c = page.pageInfo.prevCursor;
  }
  assert.deepEqual([...back, ...res.items].map(refOf), walked.map(refOf));
});

test('queryEntities combines filter and query, with $contains, $hasPrefix, full text and totalItems', async () => {
  const tagged = await client.queryEntities({ filter: { kind: 'Component' }, query: { 'metadata.tags': { $contains: 'java' } }, limit: 100 });
  assert.ok(tagged.items.length > 0);
  assert.deepEqual(tagged.items.map(refOf).sort(), (await expectedRefs({ kind: 'Component', 'metadata.tags': { $contains: 'java' } })).sort());

  const prefixed = await client.queryEntities({ query: { 'metadata.name': { $hasPrefix: 'INV' } }, totalItems: 'exclude', limit: 100 });
  assert.equal(prefixed.totalItems, 0, "totalItems 'exclude' skips the count");
  assert.ok(prefixed.items.length > 0 && prefixed.items.every(e => e.metadata.name.startsWith('inv')));
  assert.deepEqual(prefixed.items.map(refOf).sort(), (await expectedRefs({ 'metadata.name': { $hasPrefix: 'INV' } })).sort());

  const text = await client.queryEntities({
    query: { $any: [{ kind: 'component' }, { kind: 'api' }] },
    fullTextFilter: { term: 'invoice', fields: ['metadata.name'] },
    fields: ['kind', 'metadata.name'],
  });
  assert.ok(text.items.length > 0 && text.totalItems === text.items.length);
  for (const e of text.items) {
    assert.deepEqual(Object.keys(e).sort(), ['kind', 'metadata']);
    assert.ok(['Component', 'API'].includes(e.kind) && e.metadata.name.includes('invoice'), JSON.stringify(e));
  }
});

test('streamEntities with a predicate query yields every match once', async () => {
  const query = { $any: [{ kind: 'user' }, { kind: 'group', 'spec.type': 'team' }] };
  const seen = [];
  for await (const page of client.streamEntities({ query, pageSize: 7 })) {
    seen.push(...page.map(refOf));
  }
  assert.equal(new Set(seen).size, seen.length, 'no duplicates');
  assert.deepEqual(seen.sort(), (await expectedRefs(query)).sort());
});

test('getEntityFacets and getEntitiesByRefs with a predicate query', async () => {
  const { recording, calls } = recordingClient();
  const { facets } = await recording.getEntityFacets({ facets: ['kind', 'spec.type'], query: { $any: [{ kind: 'user' }, { kind: 'group' }] } });
  assert.deepEqual(calls, ['POST /api/catalog/entity-facets']);
  assert.deepEqual(facets.kind.map(f => f.value), ['Group', 'User']);
  const people = (await client.getEntities({ filter: [{ kind: 'user' }, { kind: 'group' }] })).items;
  assert.equal(facets.kind.reduce((n, f) => n + f.count, 0), people.length);
  assert.ok(facets['spec.type'].some(f => f.value === 'team'));

  const api = (await client.getEntities({ filter: { kind: 'API' }, limit: 1 })).items[0];
  const comps = (await client.getEntities({ filter: { kind: 'Component' }, limit: 2 })).items;
  const refs = [refOf(comps[0]), refOf(api), refOf(comps[1])];
  const got = await client.getEntitiesByRefs({ entityRefs: refs, query: { kind: { $in: ['component'] } }, fields: ['metadata.name'] });
  assert.deepEqual(got.items.map(e => e?.metadata.name), [comps[0].metadata.name, undefined, comps[1].metadata.name]);
});

test('a malformed predicate query is a 400 that says where', async () => {
  await assert.rejects(
    () => client.queryEntities({ query: { $all: [{ kind: 'component' }, { kind: { $eq: 'x' } }] } }),
    err => err.name === 'ResponseError' && err.statusCode === 400 && err.cause.name === 'InputError' && /^query\.\$all\[1\]\.kind: unknown operator \$eq/.test(err.cause.message),
  );
  await assert.rejects(
    () => client.getEntityFacets({ facets: ['kind'], query: { 'metadata.tags': { $contains: { $not: 'java' } } } }),
    err => err.statusCode === 400 && /\$not inside \$contains is not supported/.test(err.cause.message),
  );
});
