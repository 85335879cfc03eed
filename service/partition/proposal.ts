import type { MultiPolygon, Polygon } from 'geojson';
import { AppError, badRequest } from '../errors';
import type { PartitionGrid } from '../geometry/partition/index';
import { featuresOf } from '../grids';
import type { StoredSystem } from '../kernel/types';

/**
 * A dry run's grids: the current ones with the proposal applied — `{"grids": FeatureCollection,
 * "remove": [codes]}` adds or replaces grids by code and removes others. Nothing is saved.
 */
export function applyProposal(system: StoredSystem, current: PartitionGrid[], proposal: unknown): PartitionGrid[] {
  const p = (proposal ?? {}) as { grids?: unknown; remove?: unknown };
  if (typeof p !== 'object' || Array.isArray(p)) throw badRequest('invalid_proposal', 'a dry run body is {"grids": FeatureCollection, "remove": [codes]}');
  const byCode = new Map(current.map((g) => [g.code, g]));
  if (p.remove !== undefined) {
    if (!Array.isArray(p.remove) || p.remove.some((c) => typeof c !== 'string')) throw badRequest('invalid_proposal', 'remove must be an array of grid codes');
    const unknown = (p.remove as string[]).filter((c) => !byCode.has(c));
    if (unknown.length) throw badRequest('unknown_grid', `cannot remove grids that do not exist in system ${system.key}: ${unknown.join(', ')}`);
    for (const c of p.remove as string[]) byCode.delete(c);
  }
  if (p.grids !== undefined) {
    const features = featuresOf(p.grids);
    const seen = new Set<string>();
    const problems: string[] = [];
    features.forEach((f, i) => {
      const props = ((f as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
      const code = typeof props.code === 'string' || typeof props.code === 'number' ? String(props.code) : null;
      const geometry = (f as { geometry?: Polygon | MultiPolygon | null }).geometry ?? null;
      if (!code) return problems.push(`feature ${i}: properties.code is missing`);
      if (seen.has(code)) return problems.push(`feature ${i} (code ${code}): code appears twice in the proposal`);
      seen.add(code);
      const type = (geometry as { type?: unknown } | null)?.type;
      if (geometry && type !== 'Polygon' && type !== 'MultiPolygon') {
        return problems.push(`feature ${i} (code ${code}): geometry type ${String(type)} is not allowed; expected Polygon or MultiPolygon`);
      }
      const before = byCode.get(code);
      const parent = props.parent === undefined ? before?.parentCode ?? null : props.parent === null ? null : String(props.parent);
      const level = typeof props.level === 'string' ? props.level : before?.level;
      if (!level) return problems.push(`feature ${i} (code ${code}): properties.level is missing for a new grid`);
      byCode.set(code, { code, parentCode: parent, level, geometry: geometry ?? before?.geometry ?? null });
      return undefined;
    });
    if (problems.length) throw new AppError(422, 'invalid_proposal', `the proposal has ${problems.length} problem(s): ${problems.slice(0, 5).join('; ')}`, { errors: problems });
  }
  return [...byCode.values()];
}
