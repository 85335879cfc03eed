import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { toCsv } from '../../formats/csv';
import { writeXlsxSheets } from '../../formats/xlsx';
import type { AlignmentReport } from './alignment';
import type { OverlayReport } from './types';

export interface FaceProperties {
  id: string;
  unit: string | null;
  depth: number;
  /** "system/code" of every covering grid, comma-separated (map styles cannot read arrays). */
  grids: string;
  systems: string;
  area_m2: number;
  /** The face is part of an excess under the policy. */
  excess: boolean;
}

/**
 * The faces as a map layer: one feature per face with its depth and covering grids.
 *
 * @param report a report from `buildOverlayReport`
 * @returns a FeatureCollection in lon/lat, faces in report order
 */
export function overlayToGeoJSON(report: OverlayReport): FeatureCollection<Polygon | MultiPolygon, FaceProperties> {
  const excess = new Set(report.excess.flatMap((e) => (e.rule === 'depth' ? e.faces : [])));
  return {
    type: 'FeatureCollection',
    features: report.faces.map(
      (f): Feature<Polygon | MultiPolygon, FaceProperties> => ({
        type: 'Feature',
        id: f.id,
        properties: {
          id: f.id,
          unit: f.unit,
          depth: f.depth,
          grids: f.grids.map((g) => `${g.system}/${g.code}`).join(','),
          systems: [...new Set(f.grids.map((g) => g.system))].join(','),
          area_m2: f.area_m2,
          excess: excess.has(f.id),
        },
        geometry: f.geometry,
      }),
    ),
  };
}

/**
 * The regulator's table as CSV: one row per community/village with the systems present, each system's
 * covered share, the uncovered and overlapped shares and the flags; then one row per system with its
 * total, exclusive and overlapped area (kind = "system").
 *
 * @param report a report from `buildOverlayReport`
 * @returns CSV text with a UTF-8 BOM (Excel), CRLF line ends
 */
export function overlayToCsv(report: OverlayReport): string {
  const keys = report.systems.map((s) => s.key);
  const header = ['kind', 'code', 'name', 'type', 'area_type', 'area_m2', 'present', ...keys.map((k) => `share:${k}`), 'uncovered_share', 'overlapped_share', 'excess_m2', 'flags', 'exclusive_m2', 'overlapped_m2'];
  const rows: unknown[][] = report.units.map((u) => [
    'unit',
    u.code,
    u.name,
    u.type ?? '',
    u.areaType,
    u.area_m2,
    u.present,
    ...keys.map((k) => u.shares[k]),
    u.uncoveredShare,
    u.overlappedShare,
    u.excess_m2,
    u.flags.join(' '),
    '',
    '',
  ]);
  for (const s of report.table) {
    rows.push(['system', s.system, s.name, '', '', s.total_m2, s.units, ...keys.map(() => ''), '', '', '', '', s.exclusive_m2, s.overlapped_m2]);
  }
  return toCsv(header, rows);
}

const XLSX_TEXT = {
  'zh-CN': {
    units: '监管表（社区村）',
    systems: '各体系面积',
    unitHeader: ['编码', '名称', '类型', '城乡', '面积(m²)', '覆盖体系数'],
    share: (name: string) => `${name}覆盖比例`,
    unitTail: ['未覆盖比例', '重叠比例', '超限面积(m²)', '标记'],
    systemHeader: ['体系', '名称', '覆盖面积(m²)', '独占面积(m²)', '重叠面积(m²)', '服务社区村数'],
    urban: '城镇',
    rural: '农村',
  },
  en: {
    units: 'Units',
    systems: 'Systems',
    unitHeader: ['code', 'name', 'type', 'area type', 'area (m²)', 'systems present'],
    share: (name: string) => `share: ${name}`,
    unitTail: ['uncovered share', 'overlapped share', 'excess (m²)', 'flags'],
    systemHeader: ['system', 'name', 'covered (m²)', 'exclusive (m²)', 'overlapped (m²)', 'units served'],
    urban: 'urban',
    rural: 'rural',
  },
};

/**
 * The regulator's table and the table per system (bank) as an XLSX workbook of two sheets, the same rows
 * as `overlayToCsv`; codes stay text, areas and shares numbers. Flags keep their stable codes.
 *
 * @param report a report from `buildOverlayReport` (or a stored overlay's)
 * @param lang column titles in Chinese (default) or English
 * @returns the .xlsx file
 */
export function overlayToXlsx(report: OverlayReport, lang: 'zh-CN' | 'en' = 'zh-CN'): Promise<Buffer> {
  const t = XLSX_TEXT[lang];
  const keys = report.systems.map((s) => s.key);
  return writeXlsxSheets([
    {
      name: t.units,
      header: [...t.unitHeader, ...report.systems.map((s) => t.share(s.name)), ...t.unitTail],
      rows: report.units.map((u) => [u.code, u.name, u.type ?? '', t[u.areaType], u.area_m2, u.present, ...keys.map((k) => u.shares[k]), u.uncoveredShare, u.overlappedShare, u.excess_m2, u.flags.join(' ')]),
    },
    { name: t.systems, header: t.systemHeader, rows: report.table.map((s) => [s.system, s.name, s.total_m2, s.exclusive_m2, s.overlapped_m2, s.units]) },
  ]);
}

/**
 * Alignment as CSV: one row per (grid of A, grid of B) share, with the grid's largest share and whether it
 * straddles.
 */
export function alignmentToCsv(report: AlignmentReport): string {
  const straddling = new Set(report.straddling);
  const rows: unknown[][] = [];
  for (const g of report.grids) {
    const shares = g.shares.length > 0 ? g.shares : [{ code: '', name: '', share: 0, area_m2: 0 }];
    for (const s of shares) rows.push([report.a, g.code, g.name, g.area_m2, report.b, s.code, s.name, s.share, s.area_m2, g.maxShare, g.outsideShare, straddling.has(g.code)]);
  }
  return toCsv(['system_a', 'code_a', 'name_a', 'area_a_m2', 'system_b', 'code_b', 'name_b', 'share', 'area_m2', 'max_share', 'outside_share', 'straddling'], rows);
}
