import type { Geometry } from 'geojson';
import type { ChangeEvent } from '../db/changes';
import type { Queryable } from '../db/tx';
import {
  encodeTile,
  mercatorX,
  mercatorY,
  TILE_BUFFER,
  TILE_EXTENT,
  tileBounds,
  type FieldType,
  type MvtPolygon,
  type OverlaySourceInfo,
  type Staleness,
  type TileCoord,
  type TileSource,
  type TileSourceProvider,
} from '../tiles';
import { createStoredOverlayStore, type StoredOverlayStore, type StoredResult } from './stored-store';

/** The source-layer of every stored overlay's tiles. */
export const OVERLAY_LAYER = 'overlay_faces';
/** Faces are drawn whole at every zoom; deeper tiles are overzoomed by clients. */
const OVERLAY_MAXZOOM = 16;

/** Every property a face carries; the decoded-tile test holds tiles to this list. */
export const OVERLAY_FIELDS: Readonly<Record<string, FieldType>> = {
  depth: 'Number',
  grids: 'String',
  systems: 'String',
  unit: 'String',
  blank: 'Boolean',
  excess: 'Boolean',
  area_m2: 'Number',
};

/**
 * One stored overlay's faces (issue #13) as the layer `overlay_faces`: depth, the covering grids and
 * systems ("system/code" and keys, comma-separated: map styles cannot read arrays), the unit, whether the
 * face is a blank (depth 0) and whether it is part of an excess under the overlay's policy. Read from
 * PostGIS for every tile the cache does not hold (clipped there to the tile and its buffer), so an
 * 'overlays' change only drops the cached tiles it touched.
 */
export class OverlayFacesSource implements TileSource {
  readonly id: string;
  readonly maxzoom = OVERLAY_MAXZOOM;

  constructor(
    private readonly store: StoredOverlayStore,
    readonly result: StoredResult,
    private readonly access: OverlaySourceInfo['overlay'],
  ) {
    this.id = `overlays.${result.id}`;
  }

  async info(): Promise<OverlaySourceInfo> {
    const { territory, systems } = this.result.request;
    return {
      id: this.id,
      kind: 'overlays',
      name: `覆盖分析 ${territory.code}`,
      description: `Overlay faces of ${systems.map((s) => s.key).join(', ')} over ${territory.system}/${territory.code} (issue #13): depth, covering grids, blanks and excess`,
      bounds: await this.store.bounds(this.result.id),
      minzoom: 0,
      maxzoom: this.maxzoom,
      vectorLayers: [{ id: OVERLAY_LAYER, description: 'overlay faces by depth', minzoom: 0, maxzoom: this.maxzoom, fields: { ...OVERLAY_FIELDS } }],
      overlay: this.access,
    };
  }

  async getTile(tile: TileCoord): Promise<Uint8Array | null> {
    const rows = await this.store.facesInBox(this.result.id, tileBounds(tile, TILE_BUFFER / TILE_EXTENT));
    const features: MvtPolygon[] = [];
    for (const r of rows) {
      const rings = tileRings(tile, JSON.parse(r.geojson) as Geometry);
      if (rings.length === 0) continue;
      features.push({
        id: r.id,
        rings,
        properties: {
          depth: r.depth,
          grids: r.grids.map((g) => `${g.system}/${g.code}`).join(','),
          systems: [...new Set(r.grids.map((g) => g.system))].join(','),
          unit: r.unit ?? undefined,
          blank: r.depth === 0,
          excess: r.excess,
          area_m2: Math.round(r.area_m2 * 100) / 100,
        },
      });
    }
    return features.length > 0 ? encodeTile([{ name: OVERLAY_LAYER, extent: TILE_EXTENT, features }]) : null;
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.kind !== 'overlays' || (event.codes.length > 0 && !event.codes.includes(String(this.result.id)))) return null;
    return event.bbox ?? 'all';
  }
}

/** One source per stored overlay, found again when an overlay is stored, re-arranged whole or removed. */
export function overlaySourceProvider(db: Queryable): TileSourceProvider {
  const store = createStoredOverlayStore(db);
  return {
    rediscoverOn: (event) => (event.kind === 'overlays' && event.bbox === null) || event.kind === 'system',
    async discover(current) {
      const sources: TileSource[] = [];
      for (const result of await store.results()) {
        const existing = current.get(`overlays.${result.id}`);
        if (existing instanceof OverlayFacesSource && existing.result.updatedAt === result.updatedAt) {
          sources.push(existing);
          continue;
        }
        const { territory, systems } = result.request;
        const kinds = await store.kinds(systems.map((s) => s.key));
        const access = { id: result.id, territory: { ...territory, path: await store.path(territory.system, territory.code) }, systems: systems.map((s) => ({ key: s.key, bank: kinds.get(s.key) === 'bank' })) };
        sources.push(new OverlayFacesSource(store, result, access));
      }
      return sources;
    },
  };
}

/**
 * A clipped face (Polygon, MultiPolygon, or a collection of them) in tile units, each ring closed and
 * wound as MVT wants it: outer rings with positive area by the surveyor's formula in tile coordinates
 * (clockwise on screen), holes negative.
 */
function tileRings(tile: TileCoord, geometry: Geometry): number[][] {
  const polygons =
    geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : geometry.type === 'GeometryCollection' ? geometry.geometries.flatMap((g) => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [])) : [];
  const n = 2 ** tile.z;
  const out: number[][] = [];
  for (const polygon of polygons) {
    polygon.forEach((ring, k) => {
      const flat: number[] = [];
      for (const [lon, lat] of ring) flat.push(Math.round((mercatorX(lon) * n - tile.x) * TILE_EXTENT), Math.round((mercatorY(lat) * n - tile.y) * TILE_EXTENT));
      let area = 0;
      for (let i = 0; i + 3 < flat.length; i += 2) area += flat[i] * flat[i + 3] - flat[i + 2] * flat[i + 1];
      if ((k === 0) !== area > 0) {
        const reversed: number[] = [];
        for (let i = flat.length - 2; i >= 0; i -= 2) reversed.push(flat[i], flat[i + 1]);
        out.push(reversed);
      } else out.push(flat);
    });
  }
  return out;
}
