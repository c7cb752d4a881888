// The real @backstage/catalog-client's location calls against a live
// `greenroom serve`. GREENROOM_URL is the server; GREENROOM_FILES serves a
// repository tree over HTTP (catalog-info.yaml with a Location to apis.yaml,
// and more.yaml). internal/cli's TestCatalogClientLocations sets both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogClient } from '@backstage/catalog-client';

const base = process.env.GREENROOM_URL;
const files = process.env.GREENROOM_FILES;
if (!base || !files) throw new Error('GREENROOM_URL and GREENROOM_FILES must be set');

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` },
  fetchApi: { fetch },
});
const target = `${files}/repo/catalog-info.yaml`;

async function eventually(fn, what) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} within 10 s`);
    await new Promise(r => setTimeout(r, 50));
  }
}

test('location journey: dry run, register, find, query, ancestry, analyze, update, remove', async () => {
  const dry = await client.addLocation({ target, dryRun: true });
  assert.equal(dry.location.type, 'url');
  assert.equal(dry.location.target, target);
  assert.equal(dry.exists, false);
  const dryNames = dry.entities.map(e => `${e.kind}:${e.metadata.name}`).sort();
  assert.deepEqual(dryNames.filter(n => !n.startsWith('Location:')), ['API:remote-api', 'Component:remote-service']);
  assert.equal(await client.getEntityByRef('component:default/remote-service'), undefined, 'a dry run stores nothing');

  const added = await client.addLocation({ target });
  assert.match(added.location.id, /^[0-9a-f-]{36}$/);
  const svc = await eventually(() => client.getEntityByRef('component:default/remote-service'), 'remote-service visible');
  assert.equal(svc.metadata.annotations['backstage.io/managed-by-location'], `url:${target}`);
  await eventually(() => client.getEntityByRef('api:default/remote-api'), 'remote-api (behind a relative Location target) visible');

  await assert.rejects(client.addLocation({ target }), e => e.name === 'ResponseError' && /409/.test(e.message));
  const again = await client.addLocation({ target, onConflict: 'refresh' });
  assert.equal(again.location.id, added.location.id);

  const all = await client.getLocations();
  assert.ok(all.items.some(l => l.id === added.location.id && l.target === target), JSON.stringify(all.items));
  assert.equal((await client.getLocationByRef(`url:${target}`))?.id, added.location.id);
  assert.equal((await client.getLocationById(added.location.id))?.target, target);
  assert.equal(await client.getLocationById('00000000-0000-0000-0000-000000000000'), undefined);
  assert.equal((await client.getLocationByEntity('component:default/remote-service'))?.id, added.location.id);

  const queried = await client.queryLocations({ limit: 10, query: { type: 'url', target: { $hasPrefix: files } } });
  assert.deepEqual(queried.items.map(l => l.id), [added.location.id]);
  const streamed = [];
  for await (const page of client.streamLocations({})) streamed.push(...page);
  assert.ok(streamed.some(l => l.id === added.location.id));

  const anc = await client.getEntityAncestors({ entityRef: 'api:default/remote-api' });
  assert.equal(anc.rootEntityRef, 'api:default/remote-api');
  const root = anc.items.find(i => i.entity.metadata.name === 'remote-api');
  assert.ok(root && root.parentEntityRefs.length > 0, JSON.stringify(anc.items.map(i => [i.entity.metadata.name, i.parentEntityRefs])));

  const analyzed = await client.analyzeLocation({ location: { type: 'url', target } });
  const file = analyzed.existingEntityFiles.find(f => f.entity.metadata.name === 'remote-service');
  assert.ok(file, JSON.stringify(analyzed));
  assert.equal(file.isRegistered, true);

  const moved = await client.updateLocation(added.location.id, { target: `${files}/repo/more.yaml` });
  assert.equal(moved.target, `${files}/repo/more.yaml`);
  await eventually(() => client.getEntityByRef('component:default/more-service'), 'more-service after the update');

  await client.removeLocationById(added.location.id);
  assert.equal(await client.getLocationById(added.location.id), undefined);
  await eventually(async () => (await client.getEntityByRef('component:default/more-service')) === undefined, 'more-service gone after removal');

  const configured = (await client.getLocations()).items[0];
  await assert.rejects(client.removeLocationById(configured.id), e => e.name === 'ResponseError' && /409/.test(e.message));
});
