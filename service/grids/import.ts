import { badRequest, notFound } from '../errors';
import { unionBbox, type GeometryIssue, type GridWrite, type StoredSystem } from '../kernel/types';
import { rejectFeatures } from './features';
import { checkStructure, parseGridFeatures } from './input';
import type { GridWriteContext } from './service';

export type ImportMode = 'append' | 'replace';

export interface ImportOptions {
  mode: ImportMode;
  repair: boolean;
  /** Replace only the subtree below this grid (the grid itself is kept). */
  parent?: string;
}

export interface ImportResult {
  system: string;
  mode: ImportMode;
  inserted: number;
  deleted: number;
  flagged: { code: string; issues: GeometryIssue[] }[];
  repaired: { code: string; reason: string; areaBefore_m2: number; areaAfter_m2: number }[];
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Imports features atomically: every feature is checked first and all problems are listed; then one
 * transaction deletes what `replace` replaces and inserts everything, or nothing changes.
 */
export async function importGrids(ctx: GridWriteContext, system: StoredSystem, features: unknown[], options: ImportOptions): Promise<ImportResult> {
  const key = system.key;
  if (features.length === 0) throw badRequest('empty_import', 'the import holds no features');
  const parsed = parseGridFeatures(system, features);
  return ctx.transact(async (tx) => {
    const q = ctx.store(system, tx);
    let scope: Set<string> | null = null;
    if (options.parent) {
      const root = await q.get(options.parent);
      if (!root) throw notFound('grid_not_found', `parent grid "${options.parent}" does not exist in system "${key}"`);
      if (options.mode === 'replace') scope = new Set((await q.subtree(options.parent)).map((g) => g.code));
    }
    const codes = parsed.grids.map((g) => g.code);
    const parentCodes = [...new Set(parsed.grids.map((g) => g.parentCode).filter((c): c is string => c !== null))];
    const stored = await q.levelsOf([...new Set([...codes, ...parentCodes])]);
    const replacedAll = options.mode === 'replace' && !options.parent;
    const goingAway = (code: string) => replacedAll || (scope !== null && scope.has(code));
    const available = new Map([...stored].filter(([code]) => !goingAway(code)));
    const errors = [...parsed.errors];
    for (const g of parsed.grids) {
      if (available.has(g.code)) {
        errors.push({
          index: g.index,
          code: g.code,
          field: 'properties.code',
          error: 'duplicate_code',
          message: `feature ${g.index} (code ${g.code}): code ${g.code} already exists in system ${key}; use mode=replace or PUT to change it`,
        });
      }
    }
    errors.push(...checkStructure(system, parsed.grids, available));
    if (options.parent) {
      const inside = new Set([options.parent, ...parsed.grids.map((g) => g.code)]);
      for (const g of parsed.grids) {
        if (g.parentCode === null || !inside.has(g.parentCode)) {
          errors.push({
            index: g.index,
            code: g.code,
            field: 'properties.parent',
            error: 'outside_subtree',
            message: `feature ${g.index} (code ${g.code}): parent ${g.parentCode ?? '(none)'} is outside the subtree of ${options.parent} being imported`,
          });
        }
      }
    }
    if (errors.length > 0) rejectFeatures(errors.sort((a, b) => a.index - b.index), `import into system ${key} rejected`);

    const bboxBefore = replacedAll ? await q.bboxOf(null) : scope ? await q.bboxOf([...scope]) : null;
    let deleted = 0;
    if (replacedAll) deleted = await q.removeAll();
    else if (scope && scope.size > 0) deleted = await q.remove([...scope]);

    const texts = parsed.grids.map((g) => JSON.stringify(g.geometry));
    const invalid = await q.invalidity(texts);
    const repairing = options.repair ? [...invalid.keys()] : [];
    const areasBefore = await q.areasOfGeoJson(repairing.map((i) => texts[i]!));
    const rows: GridWrite[] = parsed.grids.map((g, i) => {
      const issue = invalid.get(i);
      const issues = [...g.geometryIssues, ...(issue ? [{ ...issue, ...(options.repair ? { repaired: true } : {}) }] : [])];
      return { ...g, geometryIssues: issues };
    });
    const ids = await q.insertMany(rows, false);
    if (ids.length >= 1000) await q.refreshStatistics();
    const repaired: ImportResult['repaired'] = [];
    if (repairing.length > 0) {
      const repairIds = repairing.map((i) => ids[i]!);
      await q.repair(repairIds);
      const after = await q.areas(repairIds);
      repairing.forEach((i, k) =>
        repaired.push({
          code: rows[i]!.code,
          reason: invalid.get(i)!.reason,
          areaBefore_m2: round2(areasBefore[k]!),
          areaAfter_m2: round2(after.get(repairIds[k]!) ?? 0),
        }),
      );
    }
    const bbox = unionBbox(bboxBefore, await q.bboxOf(codes));
    await ctx.changed(tx, system, replacedAll ? [] : codes, replacedAll ? null : bbox);
    return {
      system: key,
      mode: options.mode,
      inserted: ids.length,
      deleted,
      flagged: rows.filter((r) => r.geometryIssues.length > 0).map((r) => ({ code: r.code, issues: r.geometryIssues })),
      repaired,
    };
  });
}
