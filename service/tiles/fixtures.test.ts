import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import type { Response } from 'supertest';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { binary } from './testing';

/**
 * Tile tests as data (STYLE.md, after MapLibre's suites): fixtures/tiles/<case>/request.json names a
 * request, expected.json what comes back, tiles decoded to GeoJSON per layer with coordinates rounded
 * to 6 decimals so a reviewer can open them on a map. The grid systems and addresses the cases read are
 * in fixtures/tiles/systems; the flawed system is validated, so its problems layer exists. `UPDATE=1`
 * rewrites the expected files; review the diff.
 */
const ROOT = path.resolve('fixtures/tiles');
const SYSTEMS = ['city', 'fire', 'edge', 'flawed'];
const UPDATE = process.env.UPDATE === '1';

interface Request {
  description: string;
  path: string;
}

const cases = fs
  .readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'systems')
  .map((d) => d.name)
  .sort();

describe.each(engines())('tile fixtures on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    for (const key of SYSTEMS) {
      await t.request.post('/api/systems').send(readJson(`systems/${key}.system.json`) as object).expect(201);
      await t.request.post(`/api/systems/${key}/import`).send(readJson(`systems/${key}.geojson`) as object).expect(200);
    }
    await t.request.post('/api/systems/flawed/validate').expect(200);
    await t.request.post('/api/addresses/import').set('content-type', 'application/geo+json').send(readJson('systems/addresses.geojson') as object).expect(200);
  });
  afterAll(async () => t?.close());

  it.each(cases)('%s', async (name) => {
    const request = readJson(`${name}/request.json`) as Request;
    const res = await t.request.get(request.path).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
    const actual = describeResponse(res, request.path, `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`);
    const file = path.join(ROOT, name, 'expected.json');
    if (UPDATE) {
      fs.writeFileSync(file, JSON.stringify(actual, null, 1) + '\n');
      return;
    }
    if (!fs.existsSync(file)) {
      throw new Error(`${path.relative(process.cwd(), file)} is missing: run UPDATE=1 npx vitest run service/tiles/fixtures.test.ts to write it, then review it`);
    }
    expect(actual).toEqual(JSON.parse(fs.readFileSync(file, 'utf8')));
  });
});

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));
}

function describeResponse(res: Response, url: string, origin: string): Record<string, unknown> {
  const body = res.body as Buffer;
  const type = res.headers['content-type'] ?? null;
  if (res.status === 200 && type === 'application/vnd.mapbox-vector-tile') {
    const m = /\/(\d+)\/(\d+)\/(\d+)\.(?:mvt|pbf)$/.exec(url)!;
    const [z, x, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const tile = new VectorTile(new PbfReader(body));
    const layers = Object.fromEntries(
      Object.entries(tile.layers).map(([name, layer]) => [
        name,
        {
          type: 'FeatureCollection',
          extent: layer.extent,
          features: Array.from({ length: layer.length }, (_, i) => {
            const f = layer.feature(i).toGeoJSON(x, y, z);
            return { type: 'Feature', id: f.id, properties: f.properties, geometry: { type: f.geometry.type, coordinates: round((f.geometry as { coordinates: unknown }).coordinates) } };
          }),
        },
      ]),
    );
    return { status: res.status, type, layers };
  }
  const text = body.length > 0 ? body.toString('utf8').replaceAll(origin, '{origin}') : '';
  return { status: res.status, type, ...(text ? { body: JSON.parse(text) } : {}) };
}

function round(value: unknown): unknown {
  return Array.isArray(value) ? value.map(round) : typeof value === 'number' ? Math.round(value * 1e6) / 1e6 : value;
}
