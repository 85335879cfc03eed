import type { TileSystem } from './grid-store';
import type { FieldType, GridSourceInfo } from './source';
import type { LonLatBbox } from './tile-math';

/**
 * Grids are drawn in detail down to zoom 18 (about 0.6 m per pixel at 30°N, finer than surveyed
 * boundaries); clients overzoom past it. It also keeps geojson-vt on its Int32 path ((4096 + 128)·2^18 < 2^32).
 */
export const GRID_MAXZOOM = 18;

/** Every property a grid tile carries (issue #4); null ones are left out of the feature. */
export const GRID_FIELDS: Record<string, FieldType> = {
  code: 'String',
  name: 'String',
  level: 'String',
  parent: 'String',
  type: 'String',
  households: 'Number',
  population: 'Number',
};

export const gridSourceId = (systemKey: string) => `grids.${systemKey}`;
/** Layer names carry the source id so layers of several sources can share one tile. */
export const gridLayerName = (systemKey: string, level: string) => `${gridSourceId(systemKey)}.${level}`;

export function gridSourceInfo(system: TileSystem, bounds: LonLatBbox | null, minzoom: ReadonlyMap<string, number>): GridSourceInfo {
  const levels = system.levels.map((l) => ({ key: l.key, name: l.name, order: l.order, layer: gridLayerName(system.key, l.key), minzoom: minzoom.get(l.key) ?? 0 }));
  return {
    id: gridSourceId(system.key),
    kind: 'grids',
    name: system.name,
    description: `${system.name}: ${levels.map((l) => l.name).join(' → ')}`,
    bounds,
    minzoom: 0,
    maxzoom: GRID_MAXZOOM,
    vectorLayers: levels.map((l) => ({ id: l.layer, description: l.name, minzoom: l.minzoom, maxzoom: GRID_MAXZOOM, fields: GRID_FIELDS })),
    system: { key: system.key, name: system.name, kind: system.kind },
    levels,
  };
}
