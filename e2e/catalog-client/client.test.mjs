// The real @backstage/catalog-client against a live `greenroom serve`
// loaded with the Acme Ledger demo company. GREENROOM_URL is the server's
// base URL; internal/cli's TestCatalogClient starts the server and runs this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogClient } from '@backstage/catalog-client';

const base = process.env.GREENROOM_URL;
if (!base) throw new Error('GREENROOM_URL is not set');

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` },
  fetchApi: { fetch },
});

const refOf = e => `${e.kind}:${e.metadata.namespace}/${e.metadata.name}`.toLowerCase();

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
  await client.refreshEntity(ref);
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
