import type { MultiPolygon, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/engine';
import { engines, openTestDatabase } from '../../test/db';
import { type PartitionGrid, validatePartition } from './index';

/**
 * PostGIS as the oracle for what is invalid and what a repair keeps (issue #15): a grid is `invalid`
 * exactly when ST_IsValid is false, and its repaired area is ST_Area of
 * ST_MakeValid(g, 'method=structure') on the ellipsoid (the linework method differs on the looping shell). Cases drawn in units of 0.001° near Beijing.
 */
const at = (x: number, y: number): [number, number] => [Number((116.4 + x * 0.001).toFixed(9)), Number((39.9 + y * 0.001).toFixed(9))];
const ring = (...points: [number, number][]) => points.map(([x, y]) => at(x, y));
const polygon = (...rings: [number, number][][]): Polygon => ({ type: 'Polygon', coordinates: rings.map((r) => ring(...r)) });
const square = (x: number, y: number, size: number): [number, number][] => [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]];

const CASES: { name: string; geometry: Polygon | MultiPolygon }[] = [
  { name: 'repeated consecutive vertex', geometry: polygon([[0, 0], [1, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) },
  { name: 'repeated closing vertex', geometry: polygon([[0, 0], [0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) },
  { name: 'many repeated vertices', geometry: polygon([[0, 0], [1, 0], [1, 0], [1, 0], [1, 1], [1, 1], [0, 1], [0, 0], [0, 0]]) },
  { name: 'spike outwards', geometry: polygon([[0, 0], [1, 0], [1, 0.5], [2, 0.5], [1, 0.5], [1, 1], [0, 1], [0, 0]]) },
  { name: 'spike inwards', geometry: polygon([[0, 0], [1, 0], [1, 0.5], [0.5, 0.5], [1, 0.5], [1, 1], [0, 1], [0, 0]]) },
  { name: 'edge running back over itself', geometry: polygon([[0, 0], [2, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) },
  { name: 'collapsed hole', geometry: polygon(square(0, 0, 4), [[1, 1], [2, 2], [1, 1], [1, 1]]) },
  { name: 'hole collapsed to a line', geometry: polygon(square(0, 0, 4), [[1, 1], [2, 2], [3, 3], [1, 1]]) },
  { name: 'collapsed shell', geometry: polygon([[0, 0], [1, 1], [0, 0], [0, 0]]) },
  { name: 'bow-tie', geometry: polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]) },
  { name: 'shell looping over itself', geometry: polygon([[0, 0], [4, 0], [4, 4], [1, 4], [1, 1], [3, 1], [3, 3], [0, 3], [0, 0]]) },
  { name: 'hole touching the shell at a point', geometry: polygon(square(0, 0, 4), [[0, 0], [1, 2], [2, 1], [0, 0]]) },
  { name: 'shell touching itself at a point', geometry: polygon([[0, 0], [2, 0], [1, 1], [2, 2], [0, 2], [1, 1], [0, 0]]) },
  { name: 'hole outside its shell', geometry: polygon(square(0, 0, 1), square(2, 2, 1)) },
  { name: 'hole crossing its shell', geometry: polygon(square(0, 0, 2), square(1, 1, 2)) },
  { name: 'overlapping holes', geometry: polygon(square(0, 0, 5), square(1, 1, 2), square(2, 2, 2)) },
  { name: 'overlapping MultiPolygon parts', geometry: { type: 'MultiPolygon', coordinates: [[ring(...square(0, 0, 2))], [ring(...square(1, 1, 2))]] } },
];

describe.each(engines())('PostGIS %s as the oracle for invalid geometry and its repair', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => db?.close());

  it.each(CASES)('$name', async ({ geometry }) => {
    // Segmentized to 1e-5° (≈1 m) so geography's geodesic edges follow the lon/lat-straight edges the
    // validator measures (they part by L²·tan φ / 8R, 2 mm on a 340 m edge here: 10⁻⁶ of the area).
    const sql = `select ST_IsValid(g) as valid, ST_Area(ST_Segmentize(ST_MakeValid(g, 'method=structure'), 0.00001)::geography) as area
                 from (select ST_SetSRID(ST_GeomFromGeoJSON(?), 4326) as g) s`;
    const oracle: { valid: boolean; area: number } = (await db.knex.raw(sql, [JSON.stringify(geometry)])).rows[0];
    const grids: PartitionGrid[] = [{ code: 'g', parentCode: null, level: 'top', geometry }];
    const report = validatePartition({ key: 'oracle', levels: [{ key: 'top', order: 1 }], overlapPolicy: { maxDepth: 1 } }, grids);
    const invalid = report.issues.filter((i) => i.kind === 'invalid');
    expect(invalid.length > 0, invalid.map((i) => i.reason).join('; ') || 'no invalid finding').toBe(!oracle.valid);
    expect(report.issues.every((i) => i.kind === 'invalid' || i.kind === 'repeated-vertices')).toBe(true);
    // GRS80 here, WGS 84 there: the ellipsoids' areas differ by far less than a part in 10⁶.
    expect(Math.abs(report.parents[0].childrenArea_m2 - Number(oracle.area))).toBeLessThanOrEqual(0.01 + 1e-6 * Number(oracle.area));
  });

  it('reports repeated vertices once per grid, as a warning with a count', async () => {
    const geometry = CASES.find((c) => c.name === 'many repeated vertices')!.geometry;
    expect((await db.knex.raw('select ST_IsValid(ST_SetSRID(ST_GeomFromGeoJSON(?), 4326)) as valid', [JSON.stringify(geometry)])).rows[0].valid).toBe(true);
    const report = validatePartition({ key: 'oracle', levels: [{ key: 'top', order: 1 }], overlapPolicy: { maxDepth: 1 } }, [{ code: 'g', parentCode: null, level: 'top', geometry }]);
    expect(report.issues).toEqual([expect.objectContaining({ kind: 'repeated-vertices', severity: 'warning', count: 4, grids: ['g'] })]);
    expect(report.summary.counts.invalid).toBe(0);
  });
});
