import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { cityOrigin, smallCity, smallSystem } from '../test/fixtures';

const { x: X0, y: Y0, d: D } = cityOrigin;
const KEY = smallSystem.key;
const csv = ['external_id,kind,door,households,population,lon,lat', `IN-D01A,residential,1号,3,7,${X0 + 0.5 * D},${Y0 + 0.5 * D}`, `IN-D02B,residential,2号,2,4,${X0 + 1.5 * D},${Y0 + 1.5 * D}`].join('\n');

// Issue #16: changing a system's settings that decide address assignment — the levels' order says which
// covering grid is the finest — re-assigns the system's addresses in the same transaction as the change.
describe.each(engines())('re-assignment on a system settings change on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(smallSystem).expect(201);
    await t.request.post(`/api/systems/${KEY}/import`).send({ type: 'FeatureCollection', features: smallCity() }).expect(200);
    await t.request.post('/api/addresses/import?format=csv').set('content-type', 'text/csv').send(csv).expect(200);
  });
  afterAll(async () => t?.close());

  const gridOf = async (id: string) => (await t.request.get(`/api/addresses?external_id=${id}`).expect(200)).body.features[0].properties.grids[KEY]?.code ?? null;
  const levels = (order: Record<string, number>) => smallSystem.levels.map((l) => ({ ...l, order: order[l.key] }));

  it('moves the addresses when the levels are reordered, and leaves them when other settings change', async () => {
    expect([await gridOf('IN-D01A'), await gridOf('IN-D02B')]).toEqual(['D01A', 'D02B']);

    // The street becomes the finest level: every address now belongs to its street.
    const patched = await t.request.patch(`/api/systems/${KEY}`).send({ levels: levels({ district: 1, community: 2, street: 3 }) }).expect(200);
    expect([await gridOf('IN-D01A'), await gridOf('IN-D02B')]).toEqual(['D01', 'D02']);

    // A name change decides nothing about assignment: the addresses stay where they are.
    await t.request.patch(`/api/systems/${KEY}`).send({ name: '改名后', version: patched.body.version }).expect(200);
    expect([await gridOf('IN-D01A'), await gridOf('IN-D02B')]).toEqual(['D01', 'D02']);

    // Back to the original order: back to the communities.
    await t.request.patch(`/api/systems/${KEY}`).send({ levels: levels({ district: 1, street: 2, community: 3 }) }).expect(200);
    expect([await gridOf('IN-D01A'), await gridOf('IN-D02B')]).toEqual(['D01A', 'D02B']);
  });

  it('changes neither the system nor an assignment when the settings change is refused', async () => {
    const before = (await t.request.get(`/api/systems/${KEY}`).expect(200)).body;
    // Dropping a level that still has grids is refused (409 level_in_use): the re-assignment must not stay behind.
    const refused = await t.request.patch(`/api/systems/${KEY}`).send({ levels: levels({ district: 1, street: 2, community: 3 }).filter((l) => l.key !== 'community') }).expect(409);
    expect(refused.body.error.code).toBe('level_in_use');
    expect((await t.request.get(`/api/systems/${KEY}`).expect(200)).body.version).toBe(before.version);
    expect([await gridOf('IN-D01A'), await gridOf('IN-D02B')]).toEqual(['D01A', 'D02B']);
  });
});
