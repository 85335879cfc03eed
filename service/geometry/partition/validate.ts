import { badRequest } from '../../kernel/errors';
import { type GeometryInspection, inspectGeometry } from './check-geometry';
import { type FamilyMeasures, type FamilyShapes, checkFamilyGeometry } from './family-check';
import { type RepairedGeometry, repairGeometry } from './repair';
import { type Family, codeOccurrences, createStructureCheck, planFamilies } from './structure';
import { ISSUE_KINDS, type IssueKind, type ParentSummary, type PartitionGrid, type PartitionIssue, type PartitionOptions, type PartitionReport, type PartitionSystem, type ResolvedPartitionOptions } from './types';

const DEFAULTS: ResolvedPartitionOptions = { areaTolerance: 1, sliverWidth: 2, edgeTolerance: 0.5 };

interface Prepared {
  inspection: GeometryInspection;
  repaired: RepairedGeometry;
}

/**
 * Inspections and repaired copies of the grids `keep` selects, kept across the calls of one system
 * validation (`validateSystem`): a parent is also a child of its own parent's family, and is checked once.
 * Kept across validations of the same stored grids (`ValidationReuse`), also each family's geometry check,
 * by the very grid objects it was made from and the options.
 */
export interface PreparedGrids {
  keep: (grid: PartitionGrid) => boolean;
  grids: { get(grid: PartitionGrid): Prepared | undefined; set(grid: PartitionGrid, prepared: Prepared): unknown };
  families?: FamilyChecks;
}

/** Family geometry checks kept by `familyKey`: `get` from the last validation, `set` for the next. */
export interface FamilyChecks {
  key: (grid: PartitionGrid) => number;
  get: (key: string) => ReturnType<typeof checkFamilyGeometry> | undefined;
  set: (key: string, check: ReturnType<typeof checkFamilyGeometry>) => void;
}

/**
 * Proves that every parent of a grid system is tiled exactly by its children (无缝覆盖、不重复、不遗漏,
 * DOMAIN.md), and where not, says where, how big and what kind: invalid or empty geometries, overlaps
 * between siblings (deeper than the system's `overlapPolicy.maxDepth`), gaps and slivers, children
 * outside their parent, edge mismatches, orphans, levels out of order, codes that do not extend the
 * parent's, duplicate codes. Top-level grids are checked among themselves for overlaps only.
 *
 * Areas are m² on the GRS80 ellipsoid (CGCS2000) for edges straight in lon/lat (see `FamilyFrame`),
 * rounded to 0.01 m². Pure: no I/O.
 *
 * @param system the grid system: levels (order 1 = top) and overlap policy
 * @param grids all grids of the system (or of the families to re-check, with their parents)
 * @param options tolerances; `parents` restricts the check to those parents' families
 * @param cache inspections of grids already checked in the same validation (`PreparedGrids`)
 * @returns the report; issues are ordered by family (top level first, children of missing parents
 *   last), and within a family structural issues come first
 * @throws AppError 400 `partition.invalid-system` / `partition.invalid-options` naming the bad value
 * @example
 * const report = validatePartition(system, grids, { parents: ['110101001'] });
 * report.issues.filter((i) => i.kind === 'gap');
 */
export function validatePartition(system: PartitionSystem, grids: PartitionGrid[], options: PartitionOptions = {}, cache?: PreparedGrids): PartitionReport {
  const resolved = resolveOptions(options);
  checkSystem(system);
  const occurrences = codeOccurrences(grids);
  const structure = createStructureCheck(system, grids, occurrences);
  const plan = planFamilies(grids, options.parents, occurrences, structure.isTopLevel);
  const prepared: Prepared[] = [];
  const prepare = (i: number): Prepared => {
    if (!prepared[i]) {
      const kept = cache?.grids.get(grids[i]);
      if (kept) return (prepared[i] = kept);
      const inspection = inspectGeometry(grids[i].geometry);
      prepared[i] = { inspection, repaired: repairGeometry(inspection) };
      if (cache?.keep(grids[i])) cache.grids.set(grids[i], prepared[i]);
    }
    return prepared[i];
  };

  const memberIssues = (family: Family, exists: boolean) => [...structure.check(family, exists), ...geometryIssues(system.key, grids, family, prepare)];

  const issues: PartitionIssue[] = [];
  const parents: ParentSummary[] = [];
  let gridsChecked = 0;
  for (const family of plan.families) {
    gridsChecked += family.children.length;
    const familyIssues = memberIssues(family, true);
    const shapes: FamilyShapes = {
      parent: family.parent === null ? null : parentShape(grids[family.parent].code, prepare(family.parent)),
      children: family.children.map((i) => ({ code: grids[i].code, flat: prepare(i).repaired.flat })),
    };
    const { findings, measures } = familyCheck(shapes, family, grids, resolved, system.overlapPolicy.maxDepth, cache?.families);
    for (const { kind, grids: involved, area_m2, geometry, reason, depth } of findings) {
      const area = area_m2 === null ? null : round2(area_m2);
      familyIssues.push({ kind, system: system.key, parent: family.parentCode, grids: involved, area_m2: area, geometry, reason, ...(depth === undefined ? {} : { depth }) });
    }
    issues.push(...familyIssues);
    parents.push(summarise(family, family.parent === null ? null : grids[family.parent].level, measures, familyIssues.length));
  }
  for (const group of plan.orphanGroups) {
    gridsChecked += group.children.length;
    issues.push(...memberIssues(group, false));
  }
  return assemble(system, resolved, parents, issues, gridsChecked);
}

/**
 * `checkFamilyGeometry`, or its result kept from a validation of the same grid objects (so the same stored
 * grid versions, `ValidationReuse`) with the same options: the check is a pure function of them.
 */
function familyCheck(shapes: FamilyShapes, family: Family, grids: PartitionGrid[], options: ResolvedPartitionOptions, maxDepth: number, kept: FamilyChecks | undefined): ReturnType<typeof checkFamilyGeometry> {
  if (!kept) return checkFamilyGeometry(shapes, options, maxDepth);
  const members = family.children.map((i) => kept.key(grids[i]));
  const key = `${options.areaTolerance}/${options.sliverWidth}/${options.edgeTolerance}/${maxDepth}|${family.parent === null ? '' : kept.key(grids[family.parent])}|${members.join(',')}`;
  const found = kept.get(key);
  const check = found ?? checkFamilyGeometry(shapes, options, maxDepth);
  kept.set(key, check);
  return check;
}

function parentShape(code: string, prepared: Prepared): FamilyShapes['parent'] {
  return prepared.repaired.flat ? { code, flat: prepared.repaired.flat } : null;
}

/** Empty and invalid-geometry issues of one family's children. */
function geometryIssues(system: string, grids: PartitionGrid[], family: Family, prepare: (i: number) => Prepared): PartitionIssue[] {
  const issues: PartitionIssue[] = [];
  for (const i of family.children) {
    const grid = grids[i];
    const { inspection, repaired } = prepare(i);
    // Nothing to report (most grids): no closure made for them.
    if (!inspection.empty && inspection.problems.length === 0 && inspection.repeatedVertices === 0) continue;
    const issue = (kind: IssueKind, geometry: PartitionIssue['geometry'], reason: string): PartitionIssue => ({
      kind,
      system,
      parent: family.parentCode,
      grids: [grid.code],
      area_m2: null,
      geometry,
      reason,
    });
    if (inspection.empty) {
      issues.push(issue('empty', null, `grid ${grid.code} has no geometry`));
      continue;
    }
    for (const problem of inspection.problems) {
      const point = problem.location ? { type: 'Point' as const, coordinates: problem.location } : null;
      issues.push(issue('invalid', point, `${grid.code}: ${problem.reason}${repaired.note ? `; ${repaired.note}` : ''}`));
    }
    // Valid for OGC and PostGIS (ST_IsValid): one warning per grid with a count, never an invalid finding (issue #15).
    const repeated = inspection.repeatedVertices;
    if (repeated > 0) {
      const reason = `${grid.code}: ${repeated} repeated consecutive vertex position${repeated === 1 ? '' : 's'}, dropped before checking (valid geometry for OGC and PostGIS; a warning only)`;
      issues.push({ ...issue('repeated-vertices', null, reason), severity: 'warning', count: repeated });
    }
  }
  return issues;
}

function summarise(family: Family, level: string | null, m: FamilyMeasures, issues: number): ParentSummary {
  const covered = Math.max(0, m.parentArea - m.gap);
  return {
    parent: family.parentCode,
    level,
    children: family.children.length,
    parentArea_m2: round2(m.parentArea),
    childrenArea_m2: round2(m.childrenArea),
    coveredArea_m2: round2(covered),
    coverageRatio: m.parentArea > 0 ? round9(covered / m.parentArea) : 1,
    gap_m2: round2(m.gap),
    overlap_m2: round2(m.overlap),
    outside_m2: round2(m.outside),
    issues,
  };
}

function assemble(system: PartitionSystem, options: ResolvedPartitionOptions, parents: ParentSummary[], issues: PartitionIssue[], gridsChecked: number): PartitionReport {
  const counts = Object.fromEntries(ISSUE_KINDS.map((k) => [k, 0])) as Record<IssueKind, number>;
  const areas = { gap: 0, sliver: 0, overlap: 0, outside: 0 };
  for (const issue of issues) {
    counts[issue.kind]++;
    if (issue.kind in areas) areas[issue.kind as keyof typeof areas] += issue.area_m2 ?? 0;
  }
  const parentArea = parents.reduce((s, p) => s + p.parentArea_m2, 0);
  const covered = parents.reduce((s, p) => s + p.coveredArea_m2, 0);
  return {
    system: system.key,
    generatedAt: new Date().toISOString(),
    options,
    summary: {
      parentsChecked: parents.length,
      gridsChecked,
      coverageRatio: parentArea > 0 ? round9(covered / parentArea) : 1,
      counts,
      areas_m2: { gap: round2(areas.gap), sliver: round2(areas.sliver), overlap: round2(areas.overlap), outside: round2(areas.outside) },
    },
    parents,
    issues,
  };
}

function resolveOptions(options: PartitionOptions): ResolvedPartitionOptions {
  const resolved = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ResolvedPartitionOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw badRequest('partition.invalid-options', `option ${key} must be a finite number ≥ 0, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  if (options.parents !== undefined && (!Array.isArray(options.parents) || options.parents.some((p) => typeof p !== 'string'))) {
    throw badRequest('partition.invalid-options', 'option parents must be an array of grid codes');
  }
  return resolved;
}

function checkSystem(system: PartitionSystem): void {
  const { maxDepth } = system.overlapPolicy;
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw badRequest('partition.invalid-system', `overlapPolicy.maxDepth of system ${system.key} must be an integer ≥ 1, got ${String(maxDepth)}`);
  }
  if (system.levels.length === 0) throw badRequest('partition.invalid-system', `system ${system.key} has no levels`);
  const keys = new Set<string>();
  for (const level of system.levels) {
    if (keys.has(level.key)) throw badRequest('partition.invalid-system', `level ${level.key} appears twice in system ${system.key}`);
    if (!Number.isInteger(level.order)) throw badRequest('partition.invalid-system', `level ${level.key} of system ${system.key} has order ${String(level.order)}, expected an integer`);
    keys.add(level.key);
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function round9(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
