import type { ChangeEvent } from '../db/changes';
import type { SystemKind } from '../kernel/types';
import type { LonLatBbox, TileCoord } from './tile-math';

/**
 * One family of layers served under `/tiles/{id}`. Routes, the cache and the style know only this
 * interface, so a new layer is one file implementing it plus a provider that discovers it. Served now:
 * grid systems, the latest partition report's problems per system (issue #3) and the address points (issue #5).
 */
export interface TileSource {
  /** `<kind>.<key>`, e.g. `grids.gov`: no commas (they join layers in one request) and no slashes. */
  readonly id: string;
  /** Deepest zoom it makes tiles for; deeper requests are refused and clients overzoom. */
  readonly maxzoom: number;
  /** What TileJSON, the catalog and the style say about the source. */
  info(): Promise<TileSourceInfo>;
  /** The tile as an uncompressed MVT, or null when nothing of the source is in it. */
  getTile(tile: TileCoord): Promise<Uint8Array | null>;
  /**
   * Hears every committed change, synchronously and before any later request reaches the source: it
   * schedules reloading what the change touched (later getTile calls wait for that) and says which of
   * its tiles the change made stale.
   */
  onChange(event: ChangeEvent): Staleness;
}

/** Every source writes tiles of this extent with this buffer (in tile units), whichever encoder it uses. */
export const TILE_EXTENT = 4096;
export const TILE_BUFFER = 64;

/** Which tiles a change made stale: none (null), those touching a lon/lat box, or all. */
export type Staleness = null | 'all' | LonLatBbox;

/** Finds the sources of one kind; asked again whenever a change may add, remove or redefine them. */
export interface TileSourceProvider {
  /** The sources that exist now; a source in `current` that is still valid is returned as it is, keeping its loaded data. */
  discover(current: ReadonlyMap<string, TileSource>): Promise<TileSource[]>;
  rediscoverOn(event: ChangeEvent): boolean;
  /**
   * A source named by its id alone, which discovery cannot list (e.g. the difference between two dates of
   * a system's history, issue #14); null when the id is not one of this provider's. A source made here is
   * served like a discovered one until the next discovery, which keeps it only if `discover` returns it.
   */
  resolve?(id: string): Promise<TileSource | null>;
}

/** A property's type in TileJSON `fields`, named as tippecanoe and Martin name them. */
export type FieldType = 'String' | 'Number' | 'Boolean';

export interface VectorLayerInfo {
  id: string;
  description: string;
  minzoom: number;
  maxzoom: number;
  fields: Record<string, FieldType>;
}

interface SourceInfoBase {
  id: string;
  name: string;
  description: string;
  /** Extent of the data; null while the source is empty. */
  bounds: LonLatBbox | null;
  minzoom: number;
  maxzoom: number;
  vectorLayers: VectorLayerInfo[];
}

/** A grid system: one vector layer per level, coarsest first. */
export interface GridSourceInfo extends SourceInfoBase {
  kind: 'grids';
  system: { key: string; name: string; kind: SystemKind };
  levels: { key: string; name: string; order: number; layer: string; minzoom: number }[];
}

/** The latest whole-system partition report of one grid system (issue #3): one vector layer of its issues. */
export interface ProblemsSourceInfo extends SourceInfoBase {
  kind: 'problems';
  system: { key: string; name: string };
  /** Null while the report is gone and the source not yet dropped (its system is being deleted). */
  report: {
    generatedAt: string;
    /** Grids changed in a way the incremental re-check could not follow: validate again. */
    stale: boolean;
    /** Issues per kind, those without a geometry (not drawn) included; kinds without issues left out. */
    counts: Record<string, number>;
  } | null;
}

/** The address register (issue #5): one vector layer, clusters below `pointMinzoom` and addresses from it. */
export interface AddressSourceInfo extends SourceInfoBase {
  kind: 'addresses';
  pointMinzoom: number;
  /** Grid systems whose grid code each address carries, as property `grid.<key>`. */
  systems: string[];
}

/** Incidents (issue #12): one vector layer, clusters below `pointMinzoom` and cases from it; never reporter data. */
export interface IncidentSourceInfo extends SourceInfoBase {
  kind: 'incidents';
  pointMinzoom: number;
}

/**
 * A stored cross-system overlay (issue #13): one vector layer `overlay_faces`. Who may use it is decided
 * from `overlay`: the territory (with the codes above it) and whether each participating system is a bank's.
 */
export interface OverlaySourceInfo extends SourceInfoBase {
  kind: 'overlays';
  overlay: { id: number; territory: { system: string; code: string; path: string[] }; systems: { key: string; bank: boolean }[] };
}

/**
 * A boundary difference (issue #14): a changeset's proposed grids against the current ones, or a system's
 * history between two dates; one vector layer `diff` of added, removed and changed area.
 */
export interface DiffSourceInfo extends SourceInfoBase {
  kind: 'diff';
  system: { key: string };
  /** The changeset previewed, or null for a difference between two dates. */
  changeset: { id: number; status: string } | null;
  dates: { from: string; to: string } | null;
}

export type TileSourceInfo = GridSourceInfo | ProblemsSourceInfo | AddressSourceInfo | IncidentSourceInfo | OverlaySourceInfo | DiffSourceInfo;
