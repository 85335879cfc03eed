import type { StoredSystem } from '../kernel/types';
import type { PointHit, PointQueries } from './store';

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

/**
 * For every grid system, the chain of grids containing a point, finest first (like MapIt's point lookup).
 * A point on a shared boundary is covered by both neighbours; the finest grid is then the one with the
 * lowest code, and the others are listed in `alsoIn` — the same rule address assignment uses.
 */
// A parent that does not itself cover the point (a child poking outside it) still belongs to the chain.
export async function lookupPoint(store: PointQueries, systems: StoredSystem[], lon: number, lat: number): Promise<PointAnswer> {
  const hits = await store.covering(lon, lat);
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
    let at: PointHit | undefined = finest[0];
    const visited = new Set<string>();
    while (at && !visited.has(at.code)) {
      visited.add(at.code);
      chain.push({ code: at.code, name: at.name, level: at.level, levelName: names.get(at.level) ?? at.level });
      at = at.parent_code ? byCode.get(at.parent_code) ?? (await store.grids(system.id, [at.parent_code]))[0] : undefined;
    }
    answer.systems.push({ system: system.key, name: system.name, kind: system.kind, chain, alsoIn: finest.slice(1).map((h) => h.code) });
  }
  return answer;
}
