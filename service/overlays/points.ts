import { booleanPointInPolygon } from '@turf/turf';
import type { MultiPolygon, Polygon } from 'geojson';

/** A bank outlet or piece of equipment (issue #13). */
export interface BankPoint {
  kind: 'outlet' | 'atm' | 'equipment';
  name: string;
  /** The bank grid it serves, if named. */
  grid: string | null;
  lon: number;
  lat: number;
}

export interface PointError {
  index: number;
  field: string;
  message: string;
}

const KINDS: Record<string, BankPoint['kind']> = { outlet: 'outlet', 网点: 'outlet', atm: 'atm', 自助银行: 'atm', equipment: 'equipment', 设备: 'equipment' };

/**
 * Reads a GeoJSON FeatureCollection of points (properties `kind` outlet/atm/equipment or 网点/自助银行/设备,
 * `name`, optional `grid`), collecting every problem with the feature's index and field.
 */
export function parsePoints(body: unknown, grids: ReadonlySet<string>): { points: BankPoint[]; errors: PointError[] } {
  const features = (body as { type?: unknown; features?: unknown })?.type === 'FeatureCollection' ? (body as { features: unknown }).features : null;
  if (!Array.isArray(features)) return { points: [], errors: [{ index: -1, field: '(body)', message: 'expected a GeoJSON FeatureCollection of points' }] };
  const points: BankPoint[] = [];
  const errors: PointError[] = [];
  features.forEach((f, index) => {
    const props = ((f as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
    const geometry = (f as { geometry?: { type?: string; coordinates?: unknown } }).geometry;
    const before = errors.length;
    const kind = KINDS[String(props.kind ?? '').toLowerCase()];
    if (!kind) errors.push({ index, field: 'kind', message: `kind "${String(props.kind ?? '')}" is not one of outlet, atm, equipment (网点, 自助银行, 设备)` });
    const name = typeof props.name === 'string' ? props.name.trim() : '';
    if (!name) errors.push({ index, field: 'name', message: 'name is missing' });
    const grid = props.grid === undefined || props.grid === null || props.grid === '' ? null : String(props.grid);
    if (grid !== null && !grids.has(grid)) errors.push({ index, field: 'grid', message: `grid "${grid}" is not a grid of this bank` });
    const c = geometry?.type === 'Point' && Array.isArray(geometry.coordinates) ? (geometry.coordinates as unknown[]) : null;
    const lon = Number(c?.[0]);
    const lat = Number(c?.[1]);
    if (!c || !Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
      errors.push({ index, field: 'geometry', message: 'expected a Point with lon/lat coordinates' });
    }
    if (errors.length === before) points.push({ kind: kind!, name, grid, lon, lat });
  });
  return { points, errors };
}

export interface OutletCheck {
  /** Grids of the outlet level without an outlet naming them. */
  missing: { code: string; name: string }[];
  /** Points that name a grid but lie outside it. */
  outside: { name: string; kind: BankPoint['kind']; grid: string; location: [number, number] }[];
}

/**
 * Grids whose outlet is missing or lies outside the grid (issue #13): every grid of `outletGrids` should be
 * named by an outlet, and every point naming a grid should lie in it (its boundary counts).
 */
export function checkOutlets(outletGrids: readonly { code: string; name: string }[], allGrids: ReadonlyMap<string, Polygon | MultiPolygon>, points: readonly BankPoint[]): OutletCheck {
  const named = new Set(points.filter((p) => p.kind === 'outlet' && p.grid !== null).map((p) => p.grid!));
  const outside = points
    .filter((p) => p.grid !== null && allGrids.has(p.grid) && !booleanPointInPolygon([p.lon, p.lat], allGrids.get(p.grid)!))
    .map((p) => ({ name: p.name, kind: p.kind, grid: p.grid!, location: [p.lon, p.lat] as [number, number] }));
  return { missing: outletGrids.filter((g) => !named.has(g.code)).map((g) => ({ code: g.code, name: g.name })), outside };
}

/**
 * A bank's outlet check: outlets stand for its top level (网点服务片区), so each grid of that level should be
 * named by an outlet lying inside it; `checkOutlets` over the bank's grids.
 */
export function checkBankOutlets(
  levels: readonly { key: string; order: number }[],
  grids: readonly { code: string; name: string; level: string; geometry: Polygon | MultiPolygon }[],
  points: readonly BankPoint[],
): OutletCheck {
  const top = [...levels].sort((a, b) => a.order - b.order)[0]?.key;
  return checkOutlets(
    grids.filter((g) => g.level === top),
    new Map(grids.map((g) => [g.code, g.geometry])),
    points,
  );
}
