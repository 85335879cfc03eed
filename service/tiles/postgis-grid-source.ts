import type { Knex } from 'knex';
import type { ChangeEvent } from '../db/changes';
import type { TileSystem } from './grid-store';
import { GRID_MAXZOOM, gridLayerName, gridSourceId, gridSourceInfo } from './grid-source';
import { levelMinzooms } from './levels';
import { TILE_BUFFER, TILE_EXTENT, type GridSourceInfo, type Staleness, type TileSource } from './source';
import type { LonLatBbox, TileCoord } from './tile-math';

const count = (key: string) =>
  `case when jsonb_typeof(g.attributes->'${key}') = 'number' then (g.attributes->>'${key}')::float8 end as ${key}`;

/**
 * One ST_AsMVT query per tile: a layer per visible level, concatenated (an MVT is a list of layers, so
 * concatenated tiles are one tile). z, x, y, the levels and the system are always bound parameters.
 * Features go in by grid id, so a tile's bytes do not depend on the plan or scan order of the moment.
 */
export const GRID_TILE_SQL = `
  with q as (
    select env, ST_Transform(ST_Expand(env, (ST_XMax(env) - ST_XMin(env)) * ${TILE_BUFFER / TILE_EXTENT}), 4326) as search
    from (select ST_TileEnvelope(?::int, ?::int, ?::int) as env) t)
  select string_agg(m.mvt, ''::bytea order by l.n) as tile
  from q, unnest(?::text[], ?::text[]) with ordinality as l(level, layer, n),
  lateral (
    select ST_AsMVT(f, l.layer, ${TILE_EXTENT}, 'geom', 'id' order by f.id) as mvt from (
      select g.id, g.code, g.name, g.level, g.parent_code as parent, g.type, ${count('households')}, ${count('population')},
        ST_AsMVTGeom(ST_Transform(g.geom, 3857), q.env, ${TILE_EXTENT}, ${TILE_BUFFER}, true) as geom
      from grids g
      where g.system_id = ? and g.level = l.level and g.geom && q.search) f
    where f.geom is not null) m`;

/**
 * A grid system's tiles made by the PostGIS server (ST_AsMVT), for systems too large to hold in memory
 * (grid-provider.ts decides). Nothing is held but the level zooms and bounds, so a change needs no
 * reload: the tile cache drops the stale tiles and the next query reads the new rows.
 */
export class PostgisGridSource implements TileSource {
  readonly id: string;
  readonly maxzoom = GRID_MAXZOOM;
  // Read on first use, and the bounds again after a change; level zooms stay as first read (see MemoryGridSource.loadAll).
  private minzoom: Promise<Map<string, number>> | null = null;
  private bounds: Promise<LonLatBbox | null> | null = null;

  constructor(
    readonly system: TileSystem,
    private readonly knex: Knex,
  ) {
    this.id = gridSourceId(system.key);
  }

  async info(): Promise<GridSourceInfo> {
    const [bounds, minzoom] = await Promise.all([this.readBounds(), this.readMinzoom()]);
    return gridSourceInfo(this.system, bounds, minzoom);
  }

  async getTile({ z, x, y }: TileCoord): Promise<Uint8Array | null> {
    const minzoom = await this.readMinzoom();
    const levels = this.system.levels.filter((l) => (minzoom.get(l.key) ?? 0) <= z);
    const layers = levels.map((l) => gridLayerName(this.system.key, l.key));
    const row = (await this.knex.raw(GRID_TILE_SQL, [z, x, y, levels.map((l) => l.key), layers, this.system.id])).rows[0] as { tile: Buffer | null };
    return row.tile && row.tile.length > 0 ? row.tile : null;
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.system !== this.system.key) return null;
    if (event.kind === 'system') return 'all';
    if (event.kind !== 'grids') return null;
    this.bounds = null;
    return event.bbox ?? 'all';
  }

  private readMinzoom(): Promise<Map<string, number>> {
    this.minzoom ??= (async () => {
      const rows: { level: string; size: number }[] = (
        await this.knex.raw(
          `select level, percentile_disc(0.5) within group (order by greatest(ST_XMax(e) - ST_XMin(e), ST_YMax(e) - ST_YMin(e)) / 40075016.685578488) as size
           from (select level, ST_Transform(ST_Envelope(geom), 3857) as e from grids where system_id = ?) t group by level`,
          [this.system.id],
        )
      ).rows;
      return levelMinzooms(this.system.levels, new Map(rows.map((r) => [r.level, r.size])), GRID_MAXZOOM);
    })().catch((err: unknown) => {
      this.minzoom = null;
      throw err;
    });
    return this.minzoom;
  }

  private readBounds(): Promise<LonLatBbox | null> {
    this.bounds ??= (async (): Promise<LonLatBbox | null> => {
      const r = (
        await this.knex.raw(
          `select ST_XMin(e)::float8 as x0, ST_YMin(e)::float8 as y0, ST_XMax(e)::float8 as x1, ST_YMax(e)::float8 as y1
           from (select ST_Extent(geom)::geometry as e from grids where system_id = ?) t`,
          [this.system.id],
        )
      ).rows[0];
      return r && r.x0 !== null ? [r.x0, r.y0, r.x1, r.y1] : null;
    })().catch((err: unknown) => {
      this.bounds = null;
      throw err;
    });
    return this.bounds;
  }
}
