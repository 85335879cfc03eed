import { conflict } from '../errors';
import type { MinorClass } from './classification';
import type { Route } from './workflow';

/** One unit of the governance chain as stored on the case (a snapshot taken at report time). */
export interface ChainUnit {
  code: string;
  name: string;
  level: string;
  levelName: string;
}

/**
 * The lowest level each route is handled at, in levels above the grid: routine work stays in the grid;
 * coordination, urgent and approval cases go at least to the grid's parent (DOMAIN.md "Incidents").
 */
export const ROUTE_MIN_LEVEL: Record<Route, number> = { routine: 0, coordination: 1, urgent: 1, approval: 1 };

export interface Routing {
  route: Route;
  /** The incident's grid: the finest unit of the chain. */
  responsible: ChainUnit;
  /** Levels above the grid of the unit that handles the case. */
  handlingLevel: number;
  handling: ChainUnit;
  department: string | null;
}

/**
 * Routes a case over its own chain (finest first): severity and category decide the handling level,
 * never a level name; a chain shorter than the wanted level stops at its top.
 * @throws {RangeError} for an empty chain (the caller checks the territory first)
 */
export function routeCase(chain: readonly ChainUnit[], category: MinorClass, route: Route = category.route): Routing {
  if (chain.length === 0) throw new RangeError('a case needs a chain of at least one unit');
  const handlingLevel = Math.min(Math.max(category.handlingLevel, ROUTE_MIN_LEVEL[route]), chain.length - 1);
  return { route, responsible: chain[0]!, handlingLevel, handling: chain[handlingLevel]!, department: category.department };
}

/**
 * One level up the case's own chain.
 * @throws {AppError} 409 `no_higher_level` at the top of the chain
 */
export function escalation(chain: readonly ChainUnit[], handlingLevel: number): { handlingLevel: number; handling: ChainUnit } {
  const next = handlingLevel + 1;
  if (next >= chain.length) {
    throw conflict('no_higher_level', `the case is already handled at the top of its chain (${chain[chain.length - 1]?.levelName ?? 'top'}); it cannot be escalated further`);
  }
  return { handlingLevel: next, handling: chain[next]! };
}
