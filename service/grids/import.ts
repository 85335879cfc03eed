import { badRequest, notFound } from '../errors';
import { unionBbox, type GeometryIssue, type GridWrite, type StoredSystem } from '../kernel/types';
import { rejectFeatures } from './features';
import { checkStructure, featureParser, type FeatureError } from './input';
import type { GridWriteContext } from './service';

export type ImportMode = 'append' | 'replace';

export interface ImportOptions {
  mode: ImportMode;
  repair: boolean;
  /** Replace only the subtree below this grid (the grid itself is kept). */
  parent?: string;
  /** An empty geometry is an error (`empty_geometry`) instead of an empty grid flagged in the result. */
  strict?: boolean;
}

export interface ImportResult {
  system: string;
  mode: ImportMode;
  inserted: number;
  deleted: number;
  flagged: { code: string; issues: GeometryIssue[] }[];
  repaired: { code: string; reason: string; areaBefore_m2: number; areaAfter_m2: number }[];
  /** Features whose geometry was empty: stored as grids without area, flagged (not with `strict`). */
  empty: { index: number; code: string }[];
}

/** Features inserted per statement, and the GeoJSON text a batch may hold before it is written. */
const BATCH_FEATURES = 500;
const BATCH_CHARS = 8_000_000;

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Imports features atomically, streaming: features are parsed one at a time and inserted in batches
 * inside one transaction, so a whole-country file never sits in memory (issue #15). Every feature is
 * still checked and **all** problems are listed: once one is found, later features are only checked,
 * and at the end the transaction is rolled back with the list (`422 invalid_features`), so nothing
 * changes. Structure (parents, levels, code scheme) is checked at the end, on codes only.
 *
 * @param features the features, from an array or streamed (e.g. `readGeoJson` over a spooled upload)
 */
export async function importGrids(ctx: GridWriteContext, system: StoredSystem, features: Iterable<unknown> | AsyncIterable<unknown>, options: ImportOptions): Promise<ImportResult> {
  const key = system.key;
  const parse = featureParser(system, { empty: options.strict ? 'error' : 'store' });
  return ctx.transact(async (tx) => {
    const q = ctx.store(system, tx);
    let scope: Set<string> | null = null;
    if (options.parent) {
      const root = await q.get(options.parent);
      if (!root) throw notFound('grid_not_found', `parent grid "${options.parent}" does not exist in system "${key}"`);
      if (options.mode === 'replace') scope = new Set((await q.subtree(options.parent)).map((g) => g.code));
    }
    const replacedAll = options.mode === 'replace' && !options.parent;
    const bboxBefore = replacedAll ? await q.bboxOf(null) : scope ? await q.bboxOf([...scope]) : null;
    // What `replace` replaces goes first: any code still stored afterwards is a duplicate.
    let deleted = 0;
    if (replacedAll) deleted = await q.removeAll();
    else if (scope && scope.size > 0) deleted = await q.remove([...scope]);

    const errors: FeatureError[] = [];
    const result: ImportResult = { system: key, mode: options.mode, inserted: 0, deleted, flagged: [], repaired: [], empty: [] };
    /** Only what the structure check needs of every grid; geometry leaves with its batch. */
    const seen: { index: number; code: string; parentCode: string | null; level: string }[] = [];
    let batch: (GridWrite & { index: number })[] = [];
    let texts: string[] = [];
    let chars = 0;

    const flush = async () => {
      const grids = batch;
      const geometries = texts;
      [batch, texts, chars] = [[], [], 0];
      if (grids.length === 0) return;
      const stored = await q.levelsOf(grids.map((g) => g.code));
      for (const g of grids) {
        if (stored.has(g.code)) {
          errors.push({
            index: g.index,
            code: g.code,
            field: 'properties.code',
            error: 'duplicate_code',
            message: `feature ${g.index} (code ${g.code}): code ${g.code} already exists in system ${key}; use mode=replace or PUT to change it`,
          });
        }
      }
      if (errors.length > 0) return;
      await insertBatch(q, grids, geometries, options.repair, result);
    };

    let index = 0;
    for await (const raw of features) {
      const one = parse(raw, index++);
      if (!one.grid) {
        errors.push(...one.errors);
        continue;
      }
      const g = one.grid;
      seen.push({ index: g.index, code: g.code, parentCode: g.parentCode, level: g.level });
      if (g.empty) result.empty.push({ index: g.index, code: g.code });
      // After a problem, grids are still checked against the stored codes, but their geometry is dropped.
      const text = errors.length > 0 ? '' : JSON.stringify(g.geometry);
      batch.push(errors.length > 0 ? { ...g, geometry: { type: 'MultiPolygon', coordinates: [] } } : g);
      texts.push(text);
      chars += text.length;
      if (batch.length >= BATCH_FEATURES || chars >= BATCH_CHARS) await flush();
    }
    await flush();
    if (index === 0) throw badRequest('empty_import', 'the import holds no features');

    const inFile = new Set(seen.map((g) => g.code));
    const outside = [...new Set(seen.map((g) => g.parentCode).filter((c): c is string => c !== null && !inFile.has(c)))];
    errors.push(...checkStructure(system, seen, await q.levelsOf(outside)));
    if (options.parent) {
      const inside = new Set([options.parent, ...inFile]);
      for (const g of seen) {
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

    if (result.inserted >= 1000) await q.refreshStatistics();
    const codes = [...inFile];
    const bbox = unionBbox(bboxBefore, await q.bboxOf(codes));
    await ctx.changed(tx, system, replacedAll ? [] : codes, replacedAll ? null : bbox);
    return result;
  });
}

/** Flags what PostGIS calls invalid, inserts, and with `repair` repairs and measures one batch. */
async function insertBatch(q: ReturnType<GridWriteContext['store']>, grids: (GridWrite & { index: number })[], texts: string[], repair: boolean, result: ImportResult): Promise<void> {
  const invalid = await q.invalidity(texts);
  const repairing = repair ? [...invalid.keys()] : [];
  const areasBefore = await q.areasOfGeoJson(repairing.map((i) => texts[i]!));
  const rows: GridWrite[] = grids.map((g, i) => {
    const issue = invalid.get(i);
    const issues = [...g.geometryIssues, ...(issue ? [{ ...issue, ...(repair ? { repaired: true } : {}) }] : [])];
    return { ...g, geometryIssues: issues };
  });
  const ids = await q.insertMany(rows, false);
  result.inserted += ids.length;
  for (const r of rows) if (r.geometryIssues.length > 0) result.flagged.push({ code: r.code, issues: r.geometryIssues });
  if (repairing.length === 0) return;
  const repairIds = repairing.map((i) => ids[i]!);
  await q.repair(repairIds);
  const after = await q.areas(repairIds);
  repairing.forEach((i, k) =>
    result.repaired.push({
      code: rows[i]!.code,
      reason: invalid.get(i)!.reason,
      areaBefore_m2: round2(areasBefore[k]!),
      areaAfter_m2: round2(after.get(repairIds[k]!) ?? 0),
    }),
  );
}
