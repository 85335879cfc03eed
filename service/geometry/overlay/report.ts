import { arrangeFaces, compareRefs, type ArrangedFace } from './faces';
import { areaTypeOf } from './policy';
import type { ExcessIssue, FaceRef, OverlayFace, OverlayInput, OverlayPolicy, OverlayReport, SystemRow, UnitFlag, UnitRow } from './types';

/**
 * The cross-system overlay report of issue #13: the faces of the participating systems' grids over a
 * territory cut into governance units, the area at each depth, blanks, overlaps, excess under the
 * policy, the regulator's table per unit and per system.
 *
 * @param input territory, units (communities/villages) and the participating systems' grids, lon/lat
 * @param options.within per unit: known to lie inside the territory, so it needs no clipping
 * @param options.unitsOnly report only the part of the territory inside the given units
 * @returns the report; areas in m² rounded to 0.01, shares to 1e-6
 * @throws RangeError when the territory has no geometry
 * @example buildOverlayReport({ territory, units, systems: [bankA, bankB], policy: DEFAULT_POLICY })
 */
export function buildOverlayReport(input: OverlayInput, options: { within?: readonly boolean[]; unitsOnly?: boolean } = {}): OverlayReport {
  const meta: OverlayMeta = {
    territory: input.territory,
    units: input.units,
    systems: input.systems.map((s) => ({ key: s.key, name: s.name, grids: s.grids.length })),
    policy: input.policy,
  };
  return tabulate(meta, arrangeFaces(input, options)).report;
}

/** What a report says besides its faces: the territory, its units in order, the systems and the policy. */
export interface OverlayMeta {
  territory: { system: string; code: string; name: string };
  units: readonly { code: string; name: string; type: string | null }[];
  systems: readonly { key: string; name: string; grids: number }[];
  policy: OverlayPolicy;
}

/**
 * The report over faces already arranged (a full arrangement, or stored faces of which some were
 * re-arranged after a change): depth areas, blanks, overlaps, excess, the regulator's tables. Faces of
 * units not in `meta.units` (other than null) are left out, which is how a scoped caller's report is cut.
 *
 * @returns the report and, per report face, the index of the input face it is
 */
export function tabulate(meta: OverlayMeta, input: readonly ArrangedFace[]): { report: OverlayReport; order: number[] } {
  const { units, systems, policy } = meta;
  const unitIndex = new Map(units.map((u, k) => [u.code, k]));
  const systemIndex = new Map(systems.map((s, k) => [s.key, k]));
  const measured = input
    .map((f, index) => ({
      index,
      unit: f.unit === null ? -1 : (unitIndex.get(f.unit) ?? -2),
      systems: [...new Set(f.grids.map((g) => systemIndex.get(g.system)!))].sort((a, b) => a - b),
      grids: f.grids,
      // The sort's key, made once per face rather than per comparison.
      key: refsKey(f.grids),
      area: f.area_m2,
      geometry: f.geometry,
    }))
    .filter((m) => m.unit !== -2);
  measured.sort(
    (a, b) =>
      unitOrder(units, a.unit) - unitOrder(units, b.unit) ||
      a.key.localeCompare(b.key) ||
      b.area - a.area,
  );
  const faces: OverlayFace[] = measured.map((m, k) => ({
    id: `f${k + 1}`,
    unit: m.unit >= 0 ? units[m.unit].code : null,
    depth: m.systems.length,
    grids: m.grids,
    area_m2: round2(m.area),
    geometry: m.geometry,
  }));

  const tolerance = policy.areaTolerance;
  /** Large enough to list: above zero and at least the tolerance. */
  const listed = (a: number) => a > 0 && a >= tolerance;
  const depthArea = new Map<number, number>();
  const unitRows: UnitRow[] = [];
  const excess: ExcessIssue[] = [];
  const perSystem = systems.map(() => ({ total: 0, exclusive: 0, overlapped: 0, units: 0 }));
  let excessTotal = 0;
  for (const m of measured) {
    depthArea.set(m.systems.length, (depthArea.get(m.systems.length) ?? 0) + m.area);
    for (const s of m.systems) {
      perSystem[s].total += m.area;
      if (m.systems.length === 1) perSystem[s].exclusive += m.area;
      else perSystem[s].overlapped += m.area;
    }
  }

  const byUnit = new Map<number, { m: (typeof measured)[number]; face: OverlayFace }[]>();
  measured.forEach((m, k) => {
    const list = byUnit.get(m.unit) ?? [];
    list.push({ m, face: faces[k] });
    byUnit.set(m.unit, list);
  });
  units.forEach((unit, u) => {
    const own = byUnit.get(u) ?? [];
    const unitArea = own.reduce((s, { m }) => s + m.area, 0);
    if (unitArea <= 0) return;
    const areaType = areaTypeOf(unit.type, policy);
    const rule = policy[areaType];
    const covered = systems.map(() => 0);
    let uncovered = 0;
    let overlapped = 0;
    for (const { m } of own) {
      if (m.systems.length === 0) uncovered += m.area;
      if (m.systems.length >= 2) overlapped += m.area;
      for (const s of m.systems) covered[s] += m.area;
    }
    const deep = own.filter(({ m }) => m.systems.length > rule.maxDepth);
    const deepArea = deep.reduce((s, { m }) => s + m.area, 0);
    const shareExcess = Math.max(0, overlapped - rule.maxOverlapShare * unitArea);
    const flags: UnitFlag[] = [];
    const present = covered.filter(listed).length;
    if (present === 0) flags.push('no-coverage');
    if (listed(uncovered)) flags.push('blank');
    if (listed(overlapped)) flags.push('overlap');
    if (listed(overlapped) && areaType === 'rural') flags.push('rural-overlap');
    if (listed(deepArea)) {
      flags.push('excess-depth');
      excess.push(excessIssue(unit.code, areaType, 'depth', rule.maxDepth, Math.max(...deep.map(({ m }) => m.systems.length)), deepArea, deep, systems));
    }
    // The share rule catches overlaps each within the allowed depth that together cover too much of the unit.
    if (listed(shareExcess) && listed(overlapped - deepArea)) {
      flags.push('excess-share');
      const overlapping = own.filter(({ m }) => m.systems.length >= 2);
      excess.push(excessIssue(unit.code, areaType, 'share', rule.maxOverlapShare, round6(overlapped / unitArea), shareExcess, overlapping, systems));
    }
    excessTotal += Math.max(deepArea, shareExcess);
    covered.forEach((a, s) => {
      if (listed(a)) perSystem[s].units++;
    });
    unitRows.push({
      code: unit.code,
      name: unit.name,
      type: unit.type,
      areaType,
      area_m2: round2(unitArea),
      present,
      shares: Object.fromEntries(systems.map((s, k) => [s.key, round6(covered[k] / unitArea)])),
      uncoveredShare: round6(uncovered / unitArea),
      overlappedShare: round6(overlapped / unitArea),
      excess_m2: round2(Math.max(deepArea, shareExcess)),
      flags,
    });
  });

  const unitNames = new Map(units.map((u) => [u.code, u.name]));
  const total = measured.reduce((s, m) => s + m.area, 0);
  const blank = depthArea.get(0) ?? 0;
  const overlap = [...depthArea].filter(([d]) => d >= 2).reduce((s, [, a]) => s + a, 0);
  const excessFaces = new Set(excess.filter((e) => e.rule === 'depth').flatMap((e) => e.faces));
  const table: SystemRow[] = systems.map((s, k) => ({
    system: s.key,
    name: s.name,
    total_m2: round2(perSystem[k].total),
    exclusive_m2: round2(perSystem[k].exclusive),
    overlapped_m2: round2(perSystem[k].overlapped),
    units: perSystem[k].units,
  }));
  const report: OverlayReport = {
    territory: { system: meta.territory.system, code: meta.territory.code, name: meta.territory.name, area_m2: round2(total) },
    systems: systems.map((s) => ({ key: s.key, name: s.name, grids: s.grids })),
    policy,
    summary: {
      area_m2: round2(total),
      faces: faces.length,
      depth_m2: Object.fromEntries([...depthArea].sort(([a], [b]) => a - b).map(([d, a]) => [String(d), round2(a)])),
      blank_m2: round2(blank),
      overlap_m2: round2(overlap),
      excess_m2: round2(excessTotal),
      coverageRatio: total > 0 ? round6((total - blank) / total) : 1,
      unitCoverageRatio: unitRows.length > 0 ? round6(unitRows.filter((r) => r.present > 0).length / unitRows.length) : 1,
    },
    blanks: faces
      .filter((f) => f.depth === 0 && listed(f.area_m2))
      .map((f) => ({ face: f.id, unit: f.unit, unitName: f.unit === null ? null : unitNames.get(f.unit)!, area_m2: f.area_m2 })),
    overlaps: faces
      .filter((f) => f.depth >= 2 && listed(f.area_m2))
      .map((f) => ({ face: f.id, unit: f.unit, depth: f.depth, systems: [...new Set(f.grids.map((g) => g.system))], grids: f.grids, area_m2: f.area_m2, excess: excessFaces.has(f.id) })),
    excess,
    units: unitRows,
    table,
    faces,
  };
  return { report, order: measured.map((m) => m.index) };
}

function excessIssue(
  unit: string,
  areaType: 'urban' | 'rural',
  rule: 'depth' | 'share',
  limit: number,
  actual: number,
  area: number,
  faces: { m: { systems: number[]; grids: FaceRef[] }; face: OverlayFace }[],
  systems: OverlayMeta['systems'],
): ExcessIssue {
  const involved = [...new Set(faces.flatMap(({ m }) => m.systems))].sort((a, b) => a - b);
  const grids = new Map<string, FaceRef>();
  for (const { m } of faces) for (const g of m.grids) grids.set(`${g.system}\u0000${g.code}`, g);
  return {
    unit,
    areaType,
    rule,
    limit,
    actual,
    area_m2: round2(area),
    systems: involved.map((s) => systems[s].key),
    grids: [...grids.values()].sort(compareRefs),
    faces: faces.map(({ face }) => face.id),
  };
}

function unitOrder(units: OverlayMeta['units'], u: number): number {
  return u < 0 ? units.length : u;
}

function refsKey(refs: FaceRef[]): string {
  return refs.map((r) => `${r.system}/${r.code}`).join(',');
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
