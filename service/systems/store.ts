import { knexOf, type Queryable } from '../db/tx';
import type { GridSystem, StoredSystem } from '../kernel/types';
import type { CreateSystemInput } from './schema';

interface SystemRow {
  id: number;
  key: string;
  name: string;
  kind: GridSystem['kind'];
  description: string | null;
  levels: GridSystem['levels'];
  overlap_policy: GridSystem['overlapPolicy'];
  code_scheme: GridSystem['codeScheme'];
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

function toSystem(r: SystemRow): StoredSystem {
  return {
    id: r.id,
    key: r.key,
    name: r.name,
    kind: r.kind,
    description: r.description,
    levels: [...r.levels].sort((a, b) => a.order - b.order),
    overlapPolicy: r.overlap_policy,
    codeScheme: r.code_scheme,
    version: r.version,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export type SystemQueries = ReturnType<typeof createSystemQueries>;

export function createSystemQueries(db: Queryable) {
  const knex = knexOf(db);
  return {
    async list(): Promise<StoredSystem[]> {
      const rows: SystemRow[] = await knex('grid_systems').select('*').orderBy('key');
      return rows.map(toSystem);
    },

    async get(key: string): Promise<StoredSystem | null> {
      const row: SystemRow | undefined = await knex('grid_systems').where({ key }).first();
      return row ? toSystem(row) : null;
    },

    async getForUpdate(key: string): Promise<StoredSystem | null> {
      const row: SystemRow | undefined = await knex('grid_systems').where({ key }).forUpdate().first();
      return row ? toSystem(row) : null;
    },

    async insert(input: CreateSystemInput): Promise<StoredSystem> {
      const [row] = await knex('grid_systems')
        .insert({
          key: input.key,
          name: input.name,
          kind: input.kind,
          description: input.description ?? null,
          levels: JSON.stringify(input.levels),
          overlap_policy: JSON.stringify(input.overlapPolicy),
          code_scheme: JSON.stringify(input.codeScheme),
        })
        .returning('*');
      return toSystem(row as SystemRow);
    },

    async update(id: number, changes: Partial<Pick<GridSystem, 'name' | 'kind' | 'description' | 'levels' | 'overlapPolicy' | 'codeScheme'>>): Promise<StoredSystem> {
      const patch: Record<string, unknown> = { version: knex.raw('version + 1'), updated_at: knex.fn.now() };
      if (changes.name !== undefined) patch.name = changes.name;
      if (changes.kind !== undefined) patch.kind = changes.kind;
      if (changes.description !== undefined) patch.description = changes.description;
      if (changes.levels !== undefined) patch.levels = JSON.stringify(changes.levels);
      if (changes.overlapPolicy !== undefined) patch.overlap_policy = JSON.stringify(changes.overlapPolicy);
      if (changes.codeScheme !== undefined) patch.code_scheme = JSON.stringify(changes.codeScheme);
      const [row] = await knex('grid_systems').where({ id }).update(patch).returning('*');
      return toSystem(row as SystemRow);
    },

    /** The levels that still have grids, so a patch cannot drop them. */
    async levelsInUse(id: number): Promise<string[]> {
      return (await knex('grids').where({ system_id: id }).distinct('level')).map((r: { level: string }) => r.level);
    },

    async remove(id: number): Promise<void> {
      await knex('grid_systems').where({ id }).delete();
    },

    /** Grid counts per system and level, for listings. */
    async levelCounts(): Promise<Map<number, Record<string, number>>> {
      const rows: { system_id: number; level: string; n: number }[] = await knex('grids')
        .select('system_id', 'level')
        .count({ n: '*' })
        .groupBy('system_id', 'level');
      const out = new Map<number, Record<string, number>>();
      for (const r of rows) {
        const m = out.get(r.system_id) ?? {};
        m[r.level] = Number(r.n);
        out.set(r.system_id, m);
      }
      return out;
    },

    async bbox(id: number): Promise<[number, number, number, number] | null> {
      const r = (
        await knex.raw(
          `select ST_XMin(e)::float8 as x0, ST_YMin(e)::float8 as y0, ST_XMax(e)::float8 as x1, ST_YMax(e)::float8 as y1
           from (select ST_Extent(geom)::geometry as e from grids where system_id = ?) t`,
          [id],
        )
      ).rows[0];
      return r && r.x0 !== null ? [r.x0, r.y0, r.x1, r.y1] : null;
    },
  };
}
