import type { MultiPolygon, Polygon } from 'geojson';
import { validatePartition, type PartitionIssue, type PartitionReport, type PartitionSystem } from '../partition/index';
import { gridShares } from './alignment';
import { areaTypeOf } from './policy';
import { DEFAULT_POLICY, type OverlayPolicy, type OverlayUnit } from './types';

export interface BankGrid {
  code: string;
  parentCode: string | null;
  level: string;
  name: string;
  people: { name?: string; role: string }[];
  geometry: Polygon | MultiPolygon | null;
}

export interface BankCheck {
  system: string;
  /** The level whose grids must each sit inside one community (urban) or village (rural). */
  nestLevel: string;
  threshold: number;
  summary: { grids: number; partitionIssues: number; straddling: number; withoutWorker: number };
  /** The bank's own hierarchy proved as a partition by the partition validator. */
  partition: Pick<PartitionReport, 'summary' | 'issues'>;
  /** Grids of `nestLevel` whose largest share in one unit is below the threshold ("big grid contains small grid"). */
  straddling: { code: string; name: string; area_m2: number; shares: { unit: string; name: string; areaType: 'urban' | 'rural'; share: number }[] }[];
  /** Grids with no responsible person (DOMAIN.md: one worker per grid). */
  withoutWorker: { code: string; name: string; level: string }[];
}

/**
 * Inside one bank (issue #13, DOMAIN.md "Bank grids"): seamless and one-to-one — its hierarchy validated
 * as a partition by the partition validator; each grid of `nestLevel` inside one community or village;
 * each grid with a responsible worker.
 *
 * @param system the bank's system (levels, overlap policy)
 * @param grids all of the bank's grids
 * @param units the governance units (communities and villages) the grids must nest in
 * @param options.nestLevel default: the bank's finest level, the grid a worker answers for
 * @param options.threshold default 0.95, as for alignment
 * @throws RangeError when `nestLevel` is not a level of the system
 */
export function checkBank(
  system: PartitionSystem,
  grids: readonly BankGrid[],
  units: readonly OverlayUnit[],
  options: { nestLevel?: string; threshold?: number; policy?: Pick<OverlayPolicy, 'ruralTypes'> } = {},
): BankCheck {
  const levels = [...system.levels].sort((a, b) => a.order - b.order);
  const nestLevel = options.nestLevel ?? levels[levels.length - 1]?.key;
  if (!nestLevel || !levels.some((l) => l.key === nestLevel)) {
    throw new RangeError(`level "${options.nestLevel}" is not a level of system ${system.key}; expected one of ${levels.map((l) => l.key).join(', ')}`);
  }
  const threshold = options.threshold ?? 0.95;
  const partition = validatePartition(system, grids.map((g) => ({ code: g.code, parentCode: g.parentCode, level: g.level, geometry: g.geometry })));
  const nested = grids.filter((g) => g.level === nestLevel).map((g) => ({ system: system.key, code: g.code, name: g.name, geometry: g.geometry }));
  const unitGrids = units.map((u) => ({ system: 'units', code: u.code, name: u.name, geometry: u.geometry }));
  const types = new Map(units.map((u) => [u.code, areaTypeOf(u.type, options.policy ?? DEFAULT_POLICY)]));
  const straddling = gridShares(nested, unitGrids)
    .filter((g) => g.area_m2 > 0 && g.maxShare < threshold)
    .map((g) => ({ code: g.code, name: g.name, area_m2: g.area_m2, shares: g.shares.map((s) => ({ unit: s.code, name: s.name, areaType: types.get(s.code)!, share: s.share })) }));
  const withoutWorker = grids.filter((g) => !g.people.some((p) => p.role === 'responsible')).map((g) => ({ code: g.code, name: g.name, level: g.level }));
  const issues: PartitionIssue[] = partition.issues;
  return {
    system: system.key,
    nestLevel,
    threshold,
    summary: { grids: grids.length, partitionIssues: issues.length, straddling: straddling.length, withoutWorker: withoutWorker.length },
    partition: { summary: partition.summary, issues },
    straddling,
    withoutWorker,
  };
}
