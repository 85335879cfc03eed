import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { AppError, badRequest } from '../errors';
import type { Grid } from '../kernel/types';
import type { FeatureError } from './input';

/** A grid as a GeoJSON Feature: `id` is the code; every field the API shows is a property. */
export function gridToFeature(g: Grid): Feature<Polygon | MultiPolygon> {
  return {
    type: 'Feature',
    id: g.code,
    geometry: g.geometry,
    properties: {
      system: g.system,
      code: g.code,
      name: g.name,
      level: g.level,
      parent: g.parentCode,
      type: g.type,
      people: g.people,
      ...g.attributes,
      valid_from: g.validFrom,
      valid_to: g.validTo,
      version: g.version,
      updated_at: g.updatedAt,
      geometry_issues: g.geometryIssues,
    },
  };
}

export const toCollection = (grids: Grid[]): FeatureCollection => ({ type: 'FeatureCollection', features: grids.map(gridToFeature) });

/** Extracts features from a GeoJSON body: a FeatureCollection, a Feature, or an array of Features. */
export function featuresOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const b = body as { type?: unknown; features?: unknown };
  if (b && b.type === 'FeatureCollection') {
    if (!Array.isArray(b.features)) throw badRequest('invalid_geojson', 'FeatureCollection.features must be an array');
    return b.features;
  }
  if (b && b.type === 'Feature') return [b];
  throw badRequest('invalid_geojson', `expected a GeoJSON FeatureCollection or Feature, got ${b && typeof b === 'object' ? `type ${String(b.type)}` : typeof body}`);
}

/** 422 `invalid_features` listing every problem, so a client can fix a whole file in one round. */
export function rejectFeatures(errors: FeatureError[], what: string): never {
  const shown = errors.slice(0, 5).map((e) => e.message).join('; ');
  throw new AppError(
    422,
    'invalid_features',
    `${what}: ${errors.length} problem${errors.length === 1 ? '' : 's'} in ${new Set(errors.map((e) => e.index)).size} feature(s); nothing was stored. ${shown}${errors.length > 5 ? '; …' : ''}`,
    { errors },
  );
}
