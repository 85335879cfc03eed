import type { Knex } from 'knex';
import { createSystemQueries } from '../systems/store';

export interface ChainLink {
  code: string;
  name: string;
  level: string;
  levelName: string;
}

export interface SystemChain {
  system: string;
  name: string;
  kind: string;
  /** From the finest grid containing the point up to the top level. */
  chain: ChainLink[];
  /** Other grids at the finest level that also contain the point (a shared boundary or an overlap). */
  alsoIn: string[];
}

export interface PointAnswer {
  point: { lon: number; lat: number };
  systems: SystemChain[];
  /** Systems with no grid containing the point. */
  outside: string[];
}

interface Hit {
  system_id: number;
  code: string;
  name: string;
  level: string;
  parent_code: string | null;
}

/**
 * For every grid system, the chain of grids containing a point, finest first (like MapIt's point lookup).
 * A point on a shared boundary is covered by both neighbours; the finest grid is then the one with the
 * lowest code, and the others are listed in `alsoIn` — the same rule address assignment uses.
 */
export async function lookupPoint(knex: Knex, lon: number, lat: number): Promise<PointAnswer> {
  const systems = await createSystemQueries(knex).list();
  const hits: Hit[] = (
    await knex.raw(
      `select g.system_id, g.code, g.name, g.level, g.parent_code from grids g
       where g.geom && ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)
         and ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326))
       order by g.system_id, g.code collate "C"`,
      [lon, lat, lon, lat],
    )
  ).rows;
  const answer: PointAnswer = { point: { lon, lat }, systems: [], outside: [] };
  for (const system of systems) {
    const own = hits.filter((h) => h.system_id === system.id);
    if (own.length === 0) {
      answer.outside.push(system.key);
      continue;
    }
    const order = new Map(system.levels.map((l) => [l.key, l.order]));
    const names = new Map(system.levels.map((l) => [l.key, l.name]));
    const finestOrder = Math.max(...own.map((h) => order.get(h.level) ?? 0));
    const finest = own.filter((h) => (order.get(h.level) ?? 0) === finestOrder);
    const byCode = new Map(own.map((h) => [h.code, h]));
    const chain: ChainLink[] = [];
    let at: Hit | undefined = finest[0];
    const visited = new Set<string>();
    while (at && !visited.has(at.code)) {
      visited.add(at.code);
      chain.push({ code: at.code, name: at.name, level: at.level, levelName: names.get(at.level) ?? at.level });
      at = at.parent_code ? byCode.get(at.parent_code) ?? (await parentOf(knex, system.id, at.parent_code)) : undefined;
    }
    answer.systems.push({ system: system.key, name: system.name, kind: system.kind, chain, alsoIn: finest.slice(1).map((h) => h.code) });
  }
  return answer;
}

/** A parent that does not itself cover the point (a child poking outside it) still belongs to the chain. */
async function parentOf(knex: Knex, systemId: number, code: string): Promise<Hit | undefined> {
  return knex('grids').where({ system_id: systemId, code }).first('system_id', 'code', 'name', 'level', 'parent_code');
}
