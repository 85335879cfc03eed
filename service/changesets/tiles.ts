import GeoJSONVT from 'geojson-vt';
import type { ChangeEvent } from '../db/changes';
import { AppError } from '../errors';
import {
  encodeTile,
  GRID_MAXZOOM,
  mvtFromGeojsonVt,
  TILE_BUFFER,
  TILE_EXTENT,
  type DiffSourceInfo,
  type FieldType,
  type LonLatBbox,
  type Staleness,
  type TileCoord,
  type TileSource,
  type TileSourceProvider,
} from '../tiles';
import { bboxOf, type DiffPiece } from './proof';
import type { ChangesetService } from './service';
import type { ChangesetStatus } from './workflow';

/** The source-layer of every boundary difference's tiles. */
export const DIFF_LAYER = 'diff';

/** Every property a piece carries (as the GeoJSON diff layers name them); the decoded-tile test holds tiles to it. */
export const DIFF_FIELDS: Readonly<Record<string, FieldType>> = { code: 'String', change: 'String', grid: 'String', area_m2: 'Number' };

/** Dated differences asked for lately that stay registered (their tiles cached) across discoveries. */
const DATED_KEPT = 32;

export const changesetDiffId = (id: number) => `changesets.${id}`;
/** A day (2026-03-01) or an instant to the second in UTC (2026-03-01T08:00:00Z): no dots, which separate the parts. */
const INSTANT = String.raw`\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?`;
const DATED_ID = new RegExp(String.raw`^history\.([a-z0-9][a-z0-9_-]*)\.(${INSTANT})\.(${INSTANT})$`);

interface Indexed {
  index: GeoJSONVT;
  bounds: LonLatBbox | null;
}

function indexPieces(pieces: DiffPiece[]): Indexed {
  const features = pieces.map((p) => ({ type: 'Feature' as const, geometry: p.geometry, properties: { code: p.code, change: p.change, grid: p.grid, area_m2: p.area_m2 } }));
  return {
    index: new GeoJSONVT({ type: 'FeatureCollection', features }, { maxZoom: GRID_MAXZOOM, extent: TILE_EXTENT, buffer: TILE_BUFFER }),
    bounds: bboxOf(pieces.map((p) => p.geometry)),
  };
}

/**
 * The pieces of one boundary difference held in one geojson-vt index (a changeset touches tens of grids,
 * a difference between two dates at most the grids changed between them), loaded on first use and again
 * after a change that can alter it.
 */
abstract class DiffSource implements TileSource {
  readonly maxzoom = GRID_MAXZOOM;
  private state: Promise<Indexed> | null = null;

  constructor(
    readonly id: string,
    readonly system: string,
  ) {}

  protected abstract pieces(): Promise<DiffPiece[]>;
  protected abstract describe(): Pick<DiffSourceInfo, 'name' | 'description' | 'changeset' | 'dates'>;
  /** Whether a change of this source's system (grids, or a changeset) can alter the difference. */
  protected abstract alteredBy(event: ChangeEvent): boolean;

  /** Holds pieces already read, so the first use needs no second read. */
  protected seed(pieces: DiffPiece[]): void {
    this.state = Promise.resolve(indexPieces(pieces));
  }

  private indexed(): Promise<Indexed> {
    this.state ??= this.pieces().then(indexPieces, (err: unknown) => {
      this.state = null;
      throw err;
    });
    return this.state;
  }

  async info(): Promise<DiffSourceInfo> {
    const { bounds } = await this.indexed();
    return {
      id: this.id,
      kind: 'diff',
      ...this.describe(),
      system: { key: this.system },
      bounds,
      minzoom: 0,
      maxzoom: this.maxzoom,
      vectorLayers: [{ id: DIFF_LAYER, description: 'area added to and removed from each grid; grid: whether the grid came, went or changed', minzoom: 0, maxzoom: this.maxzoom, fields: { ...DIFF_FIELDS } }],
    };
  }

  async getTile(tile: TileCoord): Promise<Uint8Array | null> {
    const { index } = await this.indexed();
    const features = index.getTileRaw(tile.z, tile.x, tile.y)?.features ?? [];
    return features.length > 0 ? encodeTile([{ name: DIFF_LAYER, extent: TILE_EXTENT, features: features.map(mvtFromGeojsonVt) }]) : null;
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.system !== this.system || (event.kind !== 'system' && !this.alteredBy(event))) return null;
    this.state = null;
    return 'all';
  }
}

/** A changeset's proposed grids against the current ones (issue #14 before/after preview), while it is not applied. */
export class ChangesetDiffSource extends DiffSource {
  constructor(
    private readonly changesets: ChangesetService,
    readonly changeset: { id: number; system: string; status: ChangesetStatus; updatedAt: string },
  ) {
    super(changesetDiffId(changeset.id), changeset.system);
  }

  protected pieces() {
    return this.changesets.diffPieces(this.system, this.changeset.id);
  }

  protected describe() {
    return {
      name: `调整方案 ${this.changeset.id}`,
      description: `Changeset ${this.changeset.id} of ${this.system} against the current grids (issue #14): area each grid gains and loses`,
      changeset: { id: this.changeset.id, status: this.changeset.status },
      dates: null,
    };
  }

  /** The preview is against today's grids: any grid change of the system may alter it, and so does an edit of the changeset. */
  protected alteredBy(event: ChangeEvent) {
    return event.kind === 'grids' || (event.kind === 'changesets' && event.codes.includes(String(this.changeset.id)));
  }
}

/** The difference of a system's grids between two dates or instants, `history.{system}.{from}.{to}`. */
export class DatedDiffSource extends DiffSource {
  constructor(
    private readonly changesets: ChangesetService,
    system: string,
    readonly from: string,
    readonly to: string,
    first: DiffPiece[],
  ) {
    super(`history.${system}.${from}.${to}`, system);
    this.seed(first);
  }

  protected pieces() {
    return this.changesets.datedPieces(this.system, this.from, this.to);
  }

  protected describe() {
    return {
      name: `网格变化 ${this.from} → ${this.to}`,
      description: `Grids of ${this.system} that changed between ${this.from} and ${this.to} (issue #14): area each grid gained and lost`,
      changeset: null,
      dates: { from: this.from, to: this.to },
    };
  }

  /** Past days are history and never change; a range reaching today (a day ahead for time zones) or later does. */
  protected alteredBy(event: ChangeEvent) {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    return event.kind === 'grids' && this.to >= yesterday;
  }
}

const realInstant = (v: string) => {
  const day = v.slice(0, 10);
  return !Number.isNaN(Date.parse(v)) && new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
};

/**
 * Boundary differences as tile sources: one per changeset not applied (`changesets.{id}`, found again when
 * a changeset is created or changes), and the difference between two dates on request
 * (`history.{system}.{from}.{to}`, too many to list).
 */
export function changesetDiffSourceProvider(changesets: ChangesetService): TileSourceProvider {
  return {
    rediscoverOn: (event) => event.kind === 'changesets' || event.kind === 'system',
    async discover(current) {
      const sources: TileSource[] = [];
      for (const c of await changesets.previewable()) {
        const existing = current.get(changesetDiffId(c.id));
        const same = existing instanceof ChangesetDiffSource && existing.changeset.status === c.status && existing.changeset.updatedAt === c.updatedAt;
        sources.push(same ? existing : new ChangesetDiffSource(changesets, c));
      }
      const dated = [...current.values()].filter((s) => s instanceof DatedDiffSource);
      return [...sources, ...dated.slice(-DATED_KEPT)];
    },
    async resolve(id) {
      const m = DATED_ID.exec(id);
      if (!m || !realInstant(m[2]!) || !realInstant(m[3]!)) return null;
      const [, system, from, to] = m as unknown as [string, string, string, string];
      const pieces = await changesets.datedPieces(system, from, to).catch((err: unknown) => {
        if (err instanceof AppError && err.status === 404) return null;
        throw err;
      });
      return pieces && new DatedDiffSource(changesets, system, from, to, pieces);
    },
  };
}
