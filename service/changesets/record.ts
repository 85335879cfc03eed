import type { Operation } from './operations';
import type { Changeset } from './store';

/** One row of the change record (调整记录): one grid one applied changeset changed. */
export interface ChangeRecordRow {
  changeset: number;
  reason: string;
  operation: string;
  codeBefore: string | null;
  codeAfter: string | null;
  areaBefore_m2: number;
  areaAfter_m2: number;
  proposedBy: string;
  approvedBy: string | null;
  createdAt: string;
  approvedAt: string | null;
  appliedAt: string | null;
}

const featureCode = (f: { properties: Record<string, unknown> | null }) => String(f.properties?.code ?? '');

/**
 * For every code a changeset's operations leave (or remove), the code it had before the changeset
 * (null for a new grid) and the operations that acted on it, in order.
 */
export function operationTrail(operations: Operation[]): Map<string, { origin: string | null; ops: string[] }> {
  const trail = new Map<string, { origin: string | null; ops: string[] }>();
  const at = (code: string) => {
    let t = trail.get(code);
    if (!t) trail.set(code, (t = { origin: code, ops: [] }));
    return t;
  };
  for (const op of operations) {
    switch (op.op) {
      case 'redraw':
        for (const f of op.grids) at(featureCode(f)).ops.push('redraw');
        break;
      case 'split': {
        const whole = at(op.code);
        whole.ops.push('split');
        for (const f of op.into) {
          const code = featureCode(f);
          if (code !== op.code) trail.set(code, { origin: whole.origin, ops: [...whole.ops] });
        }
        break;
      }
      case 'merge': {
        for (const c of op.codes) at(c).ops.push('merge');
        if (!op.codes.includes(op.into.code)) trail.set(op.into.code, { origin: null, ops: ['merge'] });
        break;
      }
      case 'add':
        for (const f of op.grids) trail.set(featureCode(f), { origin: null, ops: ['add'] });
        break;
      case 'remove':
        at(op.code).ops.push('remove');
        for (const c of op.giveTo) at(c).ops.push('remove');
        break;
      case 'reparent':
        at(op.code).ops.push('reparent');
        break;
      case 'rename': {
        const t = at(op.code);
        t.ops.push('rename');
        if (op.newCode !== undefined && op.newCode !== op.code) {
          trail.delete(op.code);
          trail.set(op.newCode, t);
        }
        break;
      }
    }
  }
  return trail;
}

/**
 * The change record of applied changesets: one row per grid each one changed, with its code and area
 * before and after (from the approved proof, which apply guarantees is what was applied: a changeset
 * whose grids changed since cannot apply until rebased).
 */
export function changeRecord(changesets: Changeset[]): ChangeRecordRow[] {
  const rows: ChangeRecordRow[] = [];
  for (const c of changesets) {
    if (c.status !== 'applied' || !c.proof) continue;
    const trail = operationTrail(c.operations);
    const removed = new Set(c.proof.impact.codes.removed);
    const approvedAt = [...c.events].reverse().find((e) => e.action === 'approve')?.at ?? null;
    for (const a of c.proof.impact.areas) {
      const gone = removed.has(a.code) && a.after_m2 === 0;
      const t = trail.get(a.code);
      rows.push({
        changeset: c.id,
        reason: c.reason,
        operation: [...new Set(t?.ops ?? [])].join('+'),
        codeBefore: gone ? a.code : t ? t.origin : a.code,
        codeAfter: gone ? null : a.code,
        areaBefore_m2: a.before_m2,
        areaAfter_m2: a.after_m2,
        proposedBy: c.proposedBy,
        approvedBy: c.reviewedBy,
        createdAt: c.createdAt,
        approvedAt,
        appliedAt: c.appliedAt,
      });
    }
    // A rename or re-parent changes no area; it is still a change of the record.
    const listed = new Set(c.proof.impact.areas.map((a) => a.code));
    for (const [code, t] of trail) {
      if (listed.has(code) || t.ops.length === 0 || removed.has(code)) continue;
      rows.push({
        changeset: c.id, reason: c.reason, operation: [...new Set(t.ops)].join('+'), codeBefore: t.origin, codeAfter: code,
        areaBefore_m2: NaN, areaAfter_m2: NaN, proposedBy: c.proposedBy, approvedBy: c.reviewedBy, createdAt: c.createdAt, approvedAt, appliedAt: c.appliedAt,
      });
    }
  }
  return rows;
}

const COLUMNS: Record<'zh-CN' | 'en', string[]> = {
  'zh-CN': ['调整单号', '调整原因', '操作', '原网格编码', '新网格编码', '调整前面积(m²)', '调整后面积(m²)', '提出人', '审定人', '提出时间', '审定时间', '生效时间'],
  en: ['changeset', 'reason', 'operation', 'code_before', 'code_after', 'area_before_m2', 'area_after_m2', 'proposed_by', 'approved_by', 'created_at', 'approved_at', 'applied_at'],
};

/** The record as a table for CSV or XLSX: header and rows (an unknown area is an empty cell). */
export function changeRecordTable(rows: ChangeRecordRow[], lang: 'zh-CN' | 'en'): { header: string[]; rows: unknown[][] } {
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    header: COLUMNS[lang],
    rows: rows.map((r) => [r.changeset, r.reason, r.operation, r.codeBefore, r.codeAfter, num(r.areaBefore_m2), num(r.areaAfter_m2), r.proposedBy, r.approvedBy, r.createdAt, r.approvedAt, r.appliedAt]),
  };
}
