import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, type DemoCity } from '../demo/index';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';

/**
 * The demo city through the real import paths: grids of six systems, then its addresses as GeoJSON.
 * Checks the acceptance: every address assigned, and counts per grid equal a PostGIS ST_Covers
 * join on the same data (finest level, then lowest code: the rule of the point lookup).
 */
describe.each(engines())('demo city addresses on %s PostGIS', (engine) => {
  let t: TestApp;
  let city: DemoCity;
  beforeAll(async () => {
    t = await startTestApp(engine);
    city = generateCity({ seed: 3, grids: 100 });
    for (const { system, grids } of city.systems) {
      await t.request.post('/api/systems').send(system).expect(201);
      await t.request.post(`/api/systems/${system.key}/import`).send(grids).expect(200);
    }
  });
  afterAll(async () => t?.close());

  it('assigns every demo address in every system, exactly as a PostGIS ST_Covers join does', async () => {
    const features = city.addresses.features.map(({ properties: { grid: _grid, ...properties }, geometry }) => ({ type: 'Feature', properties, geometry }));
    // nearest=0: placing businesses by distance (就近划入) is tested on its own; here covering alone decides.
    const res = await t.request.post('/api/addresses/import?format=geojson&nearest=0').send({ type: 'FeatureCollection', features }).expect(200);
    expect(res.body).toMatchObject({ records: features.length, inserted: features.length, updated: 0, unchanged: 0, rejected: 0, errors: [] });

    for (const { system } of city.systems) {
      const stats = (await t.request.get(`/api/systems/${system.key}/stats`).expect(200)).body;
      expect(stats.totals).toMatchObject({ addresses: features.length, ambiguous: 0, nearest: 0 });
      // Each bank covers its own outlets' areas, not the whole district.
      if (system.kind !== 'bank') expect(stats.totals).toMatchObject({ assigned: features.length, unassigned: 0 });

      const { rows: joined } = await t.db.knex.raw(
        `with lv as (select l->>'key' as key, (l->>'order')::int as ord from grid_systems s, jsonb_array_elements(s.levels) l where s.key = ?),
         hit as (
           select distinct on (a.id) a.id, g.code from addresses a
           join grids g on ST_Covers(g.geom, a.geom) join grid_systems s on s.id = g.system_id and s.key = ?
           join lv on lv.key = g.level
           order by a.id, lv.ord desc, g.code collate "C")
         select
           (select count(*) from addresses a left join hit on hit.id = a.id
             where (a.grids ->> (select id::text from grid_systems where key = ?)) is distinct from hit.code)::int as differing,
           (select json_object_agg(code, n) from (select code, count(*) as n from hit group by code) c) as per_grid`,
        [system.key, system.key, system.key],
      );
      expect(joined[0].differing).toBe(0);
      // Roll the join's per-grid counts up the tree and compare with every grid of the statistics.
      const parents = new Map<string, string | null>(stats.grids.map((g: { code: string; parent: string | null }) => [g.code, g.parent]));
      const expected = new Map<string, number>(stats.grids.map((g: { code: string }) => [g.code, 0]));
      for (const [code, n] of Object.entries(joined[0].per_grid as Record<string, number>)) {
        for (let c: string | null | undefined = code; c; c = parents.get(c)) expected.set(c, expected.get(c)! + Number(n));
      }
      expect(Object.fromEntries(stats.grids.map((g: { code: string; addresses: number }) => [g.code, g.addresses]))).toEqual(Object.fromEntries(expected));
    }

    const { rows: blank } = await t.db.knex.raw(
      `select count(*)::int as n from addresses a
       where not exists (select 1 from grid_systems s where s.kind = 'bank' and (a.grids -> s.id::text) is not null)`,
    );
    // The banks leave blanks only where no bank serves a community at all (issue #13: the demo shows blanks).
    const served = new Set(city.systems.filter((s) => s.system.kind === 'bank').flatMap((s) => s.grids.features.map((f) => JSON.stringify(f.geometry))));
    const governanceFeatures = city.systems.find((s) => s.system.key === 'governance')!.grids.features;
    const unserved = new Set(governanceFeatures.filter((f) => f.properties.level === 'community' && !served.has(JSON.stringify(f.geometry))).map((f) => f.properties.code));
    const parentOf = new Map(governanceFeatures.map((f) => [f.properties.code, f.properties.parent]));
    expect(blank[0].n).toBe(city.addresses.features.filter((f) => unserved.has(parentOf.get(f.properties.grid)!)).length);

    // The generator knows which governance grid each address was drawn in.
    const governance = (await t.db.knex('grid_systems').where({ key: 'governance' }).first('id')).id;
    const { rows } = await t.db.knex.raw('select external_id, grids ->> ? as code from addresses', [String(governance)]);
    const drawnIn = new Map(city.addresses.features.map((f) => [f.properties.external_id, f.properties.grid]));
    expect(rows.filter((r: { external_id: string; code: string }) => drawnIn.get(r.external_id) !== r.code)).toEqual([]);
  });

  it('reports households per grid against the level rules, rolled up the tree', async () => {
    const stats = (await t.request.get('/api/systems/governance/stats').expect(200)).body;
    const finest = city.systems[0]!.grids.features.filter((f) => f.properties.level === 'grid');
    const byCode = new Map(stats.grids.map((g: { code: string }) => [g.code, g]));
    for (const f of finest) {
      const g = byCode.get(f.properties.code) as { households: number; population: number; violations: { rule: string }[] };
      // The generator spreads each grid's households and population over its residential addresses.
      expect([g.households, g.population]).toEqual([f.properties.households, f.properties.population]);
      const outOfRange = f.properties.households < 200 || f.properties.households > 500;
      expect(g.violations.some((v) => v.rule === 'households')).toBe(outOfRange);
    }
    const district = stats.grids.find((g: { level: string }) => g.level === 'district');
    expect(district.households).toBe(stats.totals.households);
    expect(stats.completeness.gridsWithoutAddresses).toEqual([]);
  });
});
