import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import type { Feature, MultiPolygon } from 'geojson';
import { generateCityStream } from '../demo/index';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { labelPoint } from './label-point';
import { binary } from './testing';
import { tileAt } from './tile-math';

/**
 * Freshness of the problems and address layers: the demo city's governance system with its injected
 * defects (service/demo/defects.ts) is validated, fixed and edited, and addresses are imported, moved
 * and re-assigned by a grid deletion; the next tile request after each shows the change.
 */
const city = generateCityStream({ seed: 1, defects: true });
const governance = city.systems.find((s) => s.system.key === 'governance')!;
const KEY = 'defects';
const grids = governance.grids.features as Feature<MultiPolygon, { code: string; level: string; parent: string | null }>[];
const defectFamilies = new Set(city.defects.flatMap((d) => [d.parent, ...d.grids]));

interface DecodedFeature {
  properties: Record<string, unknown>;
  coordinates: unknown;
}

async function tileFeatures(t: TestApp, layer: string, [lon, lat]: number[], z: number): Promise<DecodedFeature[]> {
  const { x, y } = tileAt(lon!, lat!, z);
  const res = await t.request.get(`/tiles/${layer}/${z}/${x}/${y}.mvt`).buffer(true).parse(binary);
  if (res.status === 204) return [];
  expect(res.status).toBe(200);
  const decoded = new VectorTile(new PbfReader(res.body as Buffer)).layers[layer];
  return Array.from({ length: decoded?.length ?? 0 }, (_, i) => {
    const f = decoded!.feature(i).toGeoJSON(x, y, z);
    return { properties: f.properties ?? {}, coordinates: (f.geometry as { coordinates: unknown }).coordinates };
  });
}

const kinds = (features: DecodedFeature[]) => [...new Set(features.map((f) => f.properties.kind))].sort();
const clusterCount = (features: DecodedFeature[]) => features.reduce((n, f) => n + Number(f.properties.point_count), 0);

/** Finest grids (level 'grid') far from every defect, west to east, so picks at both ends lie kilometres apart. */
const cleanGrids = grids
  .filter((g) => g.properties.level === 'grid' && !defectFamilies.has(g.properties.code) && !defectFamilies.has(g.properties.parent ?? ''))
  .sort((a, b) => labelPoint(a.geometry)![0]! - labelPoint(b.geometry)![0]!);

describe.each(engines())('problem and address tiles on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send({ ...governance.system, key: KEY }).expect(201);
    await t.request.post(`/api/systems/${KEY}/import`).send(governance.grids).expect(200);
  });
  afterAll(async () => t?.close());

  it('shows the latest report: a defect after validation, gone after its fix, a new one after an edit', async () => {
    await t.request.get(`/tiles/problems.${KEY}.json`).expect(404);
    await t.request.post(`/api/systems/${KEY}/validate`).expect(200);
    const gap = city.defects.find((d) => d.kind === 'gap')!;
    expect(kinds(await tileFeatures(t, `problems.${KEY}`, gap.location, 14))).toContain('gap');
    // Every defect shows at city zoom, if only through its marker point.
    for (const defect of city.defects) expect(kinds(await tileFeatures(t, `problems.${KEY}`, defect.location, 10))).toContain(defect.kind);

    const { fixes } = (await t.request.get(`/api/systems/${KEY}/fixes`).expect(200)).body;
    const fix = fixes.find((f: { kind: string }) => f.kind === 'gap');
    await t.request.post(`/api/systems/${KEY}/fixes/${fix.id}/apply`).expect(200);
    expect(kinds(await tileFeatures(t, `problems.${KEY}`, gap.location, 14))).not.toContain('gap');

    // An edit that drags a vertex of a clean grid 50 m east opens a gap and an overlap in its family.
    const victim = cleanGrids[0]!;
    const ring = victim.geometry.coordinates[0]![0]!;
    const moved = ring.map(([x, y], i) => (i === 0 || i === ring.length - 1 ? [x! + 0.0005, y!] : [x!, y!]));
    const involved = (features: DecodedFeature[]) =>
      features.filter((f) => String(f.properties.grids).split(',').includes(victim.properties.code) && f.properties.parent === victim.properties.parent);
    expect(involved(await tileFeatures(t, `problems.${KEY}`, moved[0]!, 14))).toEqual([]);
    await t.request.patch(`/api/systems/${KEY}/grids/${victim.properties.code}`).send({ geometry: { type: 'Polygon', coordinates: [moved] } }).expect(200);
    // The re-check runs after the edit's response (service/domain/partition.ts); the report read waits for it.
    await t.request.get(`/api/systems/${KEY}/report`).expect(200);
    expect(kinds(involved(await tileFeatures(t, `problems.${KEY}`, moved[0]!, 14)))).toEqual(['gap', 'overlap']);
  });

  it('draws every finding of a kind, not only the first ones the report row keeps', async () => {
    // 205 pairs of overlapping top-level squares: one overlap finding each, beyond the report's 200 per kind.
    const pairs = 205;
    const square = (x: number, y: number) => ({ type: 'Polygon', coordinates: [[[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]] });
    const features = Array.from({ length: pairs }, (_, k) => {
      const [x, y] = [116.3 + (k % 15) * 0.003, 39.9 + Math.floor(k / 15) * 0.003];
      return [
        { type: 'Feature', properties: { code: `A${k}`, name: `A${k}`, level: 'unit', parent: null }, geometry: square(x, y) },
        { type: 'Feature', properties: { code: `B${k}`, name: `B${k}`, level: 'unit', parent: null }, geometry: square(x + 0.0005, y) },
      ];
    }).flat();
    const key = 'many-overlaps';
    await t.request.post('/api/systems').send({ key, name: '重叠', kind: 'other', levels: [{ key: 'unit', name: '单元' }] }).expect(201);
    await t.request.post(`/api/systems/${key}/import`).send({ type: 'FeatureCollection', features }).expect(200);
    const report = (await t.request.post(`/api/systems/${key}/validate`).expect(200)).body;
    expect(report.summary.counts.overlap).toBe(pairs);
    expect(report.omitted.overlap).toBeGreaterThan(0);

    const [west, south, east, north] = [116.3, 39.9, 116.3 + 15 * 0.003, 39.9 + 14 * 0.003];
    const z = 12;
    const [from, to] = [tileAt(west, north, z), tileAt(east, south, z)];
    const seen = new Set<unknown>();
    for (let x = from.x; x <= to.x; x++) {
      for (let y = from.y; y <= to.y; y++) {
        const res = await t.request.get(`/tiles/problems.${key}/${z}/${x}/${y}.mvt`).buffer(true).parse(binary);
        if (res.status === 204) continue;
        const layer = new VectorTile(new PbfReader(res.body as Buffer)).layers[`problems.${key}`];
        for (let i = 0; i < (layer?.length ?? 0); i++) {
          const f = layer!.feature(i);
          if (f.properties.kind === 'overlap') seen.add(f.properties.index);
        }
      }
    }
    expect(seen.size).toBe(pairs);
  });

  it('adds the address layer with the first addresses, and shows moves and re-assignments in the next tiles', async () => {
    await t.request.get('/tiles/addresses.json').expect(404);
    const [home, away] = [cleanGrids[1]!, cleanGrids[cleanGrids.length - 1]!];
    const at = (g: typeof home, k: number) => {
      const [lon, lat] = labelPoint(g.geometry)!;
      return [lon! + 0.0001 * k, lat!];
    };
    const address = (id: string, [lon, lat]: number[], door: string) => ({
      type: 'Feature',
      properties: { external_id: id, kind: 'residential', street: '测试路', door, households: 3, population: 7 },
      geometry: { type: 'Point', coordinates: [lon, lat] },
    });
    const features = [0, 1, 2].map((k) => address(`T${k}`, at(home, k), `${k + 1}号`));
    const importAddresses = (list: object[]) =>
      t.request.post('/api/addresses/import').set('content-type', 'application/geo+json').send({ type: 'FeatureCollection', features: list }).expect(200);
    await importAddresses(features);

    const points = await tileFeatures(t, 'addresses', at(home, 0), 16);
    expect(points.map((f) => [f.properties.door, f.properties[`grid.${KEY}`]])).toEqual([
      ['1号', home.properties.code],
      ['2号', home.properties.code],
      ['3号', home.properties.code],
    ]);
    expect(clusterCount(await tileFeatures(t, 'addresses', at(home, 0), 8))).toBe(3);
    expect(clusterCount(await tileFeatures(t, 'addresses', at(home, 0), 15))).toBe(3);

    // The same external id at a new place moves the address.
    await importAddresses([address('T2', at(away, 0), '3号')]);
    expect((await tileFeatures(t, 'addresses', at(home, 0), 16)).map((f) => f.properties.door)).toEqual(['1号', '2号']);
    expect(clusterCount(await tileFeatures(t, 'addresses', at(home, 0), 15))).toBe(2);
    expect(clusterCount(await tileFeatures(t, 'addresses', at(away, 0), 15))).toBe(1);
    expect(clusterCount(await tileFeatures(t, 'addresses', at(home, 0), 8))).toBe(3);

    // Deleting the grid re-assigns its addresses to the grid around it.
    await t.request.delete(`/api/systems/${KEY}/grids/${home.properties.code}`).expect(200);
    const reassigned = await tileFeatures(t, 'addresses', at(home, 0), 16);
    expect(reassigned.map((f) => f.properties[`grid.${KEY}`])).toEqual([home.properties.parent, home.properties.parent]);
    // Lets the re-check the deletion started finish before the database closes.
    await t.request.get(`/api/systems/${KEY}/report`).expect(200);
  });
});
