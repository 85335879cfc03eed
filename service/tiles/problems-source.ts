import GeoJSONVT, { type RawFeature } from 'geojson-vt';
import type { Feature, Geometry, Position } from 'geojson';
import type { ChangeEvent } from '../db/changes';
import { GRID_MAXZOOM } from './grid-source';
import { labelPoint } from './label-point';
import { Loaded } from './loaded';
import { encodeTile, type MvtFeature, type MvtValue } from './mvt';
import type { ProblemQueries, ProblemReport, ProblemSystem } from './problem-store';
import { TILE_BUFFER, TILE_EXTENT, type FieldType, type ProblemsSourceInfo, type Staleness, type TileSource } from './source';
import type { LonLatBbox, TileCoord } from './tile-math';

export const problemsSourceId = (systemKey: string) => `problems.${systemKey}`;

/** Every property a problem feature carries; `index` is the issue's place in the report's full list (`seq`). */
const PROBLEM_FIELDS: Record<string, FieldType> = {
  kind: 'String',
  parent: 'String',
  grids: 'String',
  area_m2: 'Number',
  reason: 'String',
  index: 'Number',
};

interface IndexedReport {
  report: ProblemReport | null;
  index: GeoJSONVT;
  bounds: LonLatBbox | null;
}

/**
 * The issues of a grid system's latest partition report (issue #3), one layer named like the source so
 * problems of several systems can share one tile. Each issue is drawn where it is (polygons, lines, points)
 * and, unless it is a point already, also as a marker point inside it: a 2 m² sliver vanishes from
 * tiles long before zoom 18, its marker is in every tile. Issues without a geometry are not drawn.
 * A report holds tens to a few thousand issues (every finding, not the report row's first ones of each
 * kind), so it is held whole in one geojson-vt index and reloaded whole when the report changes.
 */
export class ProblemsSource implements TileSource {
  readonly id: string;
  readonly maxzoom = GRID_MAXZOOM;
  private readonly state: Loaded<IndexedReport>;

  constructor(
    readonly system: ProblemSystem,
    queries: ProblemQueries,
  ) {
    this.id = problemsSourceId(system.key);
    this.state = new Loaded(async () => indexReport(await queries.latest(system.id)));
  }

  async info(): Promise<ProblemsSourceInfo> {
    const { report, bounds } = await this.state.current();
    const counts: Record<string, number> = {};
    for (const issue of report?.issues ?? []) counts[issue.kind] = (counts[issue.kind] ?? 0) + 1;
    return {
      id: this.id,
      kind: 'problems',
      name: `${this.system.name}：网格问题`,
      description: `Partition problems of the latest report of ${this.system.key} (issue #3): issues where they are, and a marker point per issue`,
      bounds,
      minzoom: 0,
      maxzoom: this.maxzoom,
      vectorLayers: [{ id: this.id, description: 'partition issues', minzoom: 0, maxzoom: this.maxzoom, fields: PROBLEM_FIELDS }],
      system: { key: this.system.key, name: this.system.name },
      report: report && { generatedAt: report.generatedAt, stale: report.stale, counts },
    };
  }

  async getTile(tile: TileCoord): Promise<Uint8Array | null> {
    const { index } = await this.state.current();
    const features = index.getTileRaw(tile.z, tile.x, tile.y)?.features ?? [];
    const body = encodeTile([{ name: this.id, extent: TILE_EXTENT, features: features.map(toMvt) }]);
    return body.length > 0 ? body : null;
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.system !== this.system.key) return null;
    // A redefined or deleted system gets a new source or none (problems-provider.ts); this one's tiles all go.
    if (event.kind === 'system') return 'all';
    if (event.kind !== 'report') return null;
    this.state.reset();
    return 'all';
  }
}

function indexReport(report: ProblemReport | null): IndexedReport {
  const features: Feature[] = [];
  const bounds: LonLatBbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const issue of report?.issues ?? []) {
    if (!issue.geometry) continue;
    const properties: Record<string, MvtValue> = {
      kind: issue.kind,
      parent: issue.parent,
      grids: issue.grids.join(','),
      area_m2: issue.area_m2,
      reason: issue.reason,
      index: issue.seq,
    };
    features.push({ type: 'Feature', geometry: issue.geometry, properties });
    extend(bounds, issue.geometry);
    const marker = issue.geometry.type === 'Point' ? null : labelPoint(issue.geometry);
    if (marker) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: marker }, properties });
  }
  return {
    report,
    index: new GeoJSONVT({ type: 'FeatureCollection', features }, { maxZoom: GRID_MAXZOOM, extent: TILE_EXTENT, buffer: TILE_BUFFER }),
    bounds: features.length > 0 ? bounds : null,
  };
}

function extend(bounds: LonLatBbox, geometry: Geometry): void {
  const visit = (coordinates: unknown): void => {
    if (typeof (coordinates as Position)[0] === 'number') {
      const [x, y] = coordinates as Position;
      bounds[0] = Math.min(bounds[0], x!);
      bounds[1] = Math.min(bounds[1], y!);
      bounds[2] = Math.max(bounds[2], x!);
      bounds[3] = Math.max(bounds[3], y!);
    } else {
      for (const c of coordinates as unknown[]) visit(c);
    }
  };
  if ('coordinates' in geometry) visit(geometry.coordinates);
}

/** A geojson-vt tile feature as the MVT encoder takes it. */
export function toMvt(f: RawFeature): MvtFeature {
  const properties = f.tags as Record<string, MvtValue>;
  if (f.type === 4) return { points: [f.x, f.y], properties };
  if (f.type === 1) return { points: f.geometry, properties };
  if (f.type === 2) return { lines: f.geometry, properties };
  return { rings: f.geometry, properties };
}
