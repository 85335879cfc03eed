import { conflict, notFound } from '../errors';
import type { StoredSystem } from '../kernel/types';
import { childCode, readingOrder } from '../systems';
import type { GridWriteContext } from './service';

export interface RenumberResult {
  parent: string;
  renamed: { from: string; to: string }[];
  unchanged: number;
}

/**
 * Numbers the children of `code` west→east, north→south (DB11/T 2157, CJ/T 349) under the system's
 * code scheme, renaming each child and the code prefix of all its descendants. `dryRun` only returns
 * the mapping.
 */
export async function renumberChildren(ctx: GridWriteContext, system: StoredSystem, code: string, options: { dryRun: boolean }): Promise<RenumberResult> {
  return ctx.transact(async (tx) => {
    const q = ctx.store(system, tx);
    const parent = await q.get(code);
    if (!parent) throw notFound('grid_not_found', `grid "${code}" does not exist in system "${system.key}"`);
    const children = await q.childrenForNumbering(code);
    const ordered = readingOrder(children, (c) => [c.cx, c.cy], (c) => c.h);
    const mapping = new Map<string, string>();
    ordered.forEach((c, i) => {
      const level = system.levels.find((l) => l.key === c.level)!;
      try {
        mapping.set(c.code, childCode(system.codeScheme, system.levels, level, parent.code, i));
      } catch (err) {
        throw conflict('renumber_overflow', (err as Error).message);
      }
    });
    const renamed = [...mapping].filter(([from, to]) => from !== to).map(([from, to]) => ({ from, to }));
    if (options.dryRun || renamed.length === 0) return { parent: code, renamed, unchanged: children.length - renamed.length };
    // Every descendant of a renamed child keeps its own suffix under the new prefix.
    const rows = await q.descendantsWithRoot(renamed.map((r) => r.from));
    const next = rows.map((r) => {
      const to = mapping.get(r.root)!;
      return { id: r.id, code: r.code.startsWith(r.root) ? to + r.code.slice(r.root.length) : r.code };
    });
    await q.recode(next);
    const bbox = await q.bboxOf([code]);
    await ctx.changed(tx, system, [...rows.map((r) => r.code), ...next.map((n) => n.code)], bbox);
    return { parent: code, renamed, unchanged: children.length - renamed.length };
  });
}
