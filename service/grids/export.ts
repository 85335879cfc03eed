import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { unprocessable } from '../errors';
import { toCsv } from '../formats/csv';
import { FormatError } from '../formats/errors';
import { writeXlsx } from '../formats/xlsx';
import { writeShapefileZip } from '../formats/shapefile';
import { gridToFeature } from './features';
import type { GridSystem, Grid } from '../kernel/types';

export type Lang = 'zh-CN' | 'en';

/** The responsibility register (网格责任人明细表) column titles; Chinese by default (printable output). */
const REGISTER_COLUMNS: Record<Lang, string[]> = {
  'zh-CN': ['网格编码', '网格名称', '层级', '上级编码', '网格类型', '责任人', '职务', '联系电话', '协管员', '起始日期', '终止日期'],
  en: ['code', 'name', 'level', 'parent', 'type', 'responsible', 'title', 'phone', 'helpers', 'valid_from', 'valid_to'],
};

/** Address counts per grid (issue #5), as the register shows them: rolled up the tree. */
export interface RegisterCounts {
  addresses: number;
  buildings: number;
  households: number;
  population: number;
}

const COUNT_COLUMNS: Record<Lang, string[]> = {
  'zh-CN': ['地址数', '楼栋数', '户数', '人口'],
  en: ['addresses', 'buildings', 'households', 'population'],
};

/**
 * The register's header and rows; with `counts` (from the address statistics) it gains the addresses,
 * buildings, households and population of every grid, zero where a grid holds none.
 */
function registerTable(system: GridSystem, grids: Grid[], lang: Lang, counts?: Map<string, RegisterCounts>): { header: string[]; rows: unknown[][] } {
  const levelNames = new Map(system.levels.map((l) => [l.key, lang === 'en' ? l.key : l.name]));
  const rows = grids.map((g) => {
    const c = counts?.get(g.code);
    const countCells = counts ? [c?.addresses ?? 0, c?.buildings ?? 0, c?.households ?? 0, c?.population ?? 0] : [];
    const responsible = g.people.filter((p) => p.role === 'responsible');
    const helpers = g.people.filter((p) => p.role === 'helper');
    return [
      g.code,
      g.name,
      levelNames.get(g.level) ?? g.level,
      g.parentCode ?? '',
      g.type ?? '',
      responsible.map((p) => p.name).join('、'),
      responsible.map((p) => p.title ?? '').join('、'),
      responsible.map((p) => p.phone ?? '').join('、'),
      helpers.map((p) => p.name).join('、'),
      g.validFrom ?? '',
      g.validTo ?? '',
      ...countCells,
    ];
  });
  return { header: [...REGISTER_COLUMNS[lang], ...(counts ? COUNT_COLUMNS[lang] : [])], rows };
}

export function registerCsv(system: GridSystem, grids: Grid[], lang: Lang, counts?: Map<string, RegisterCounts>): string {
  const { header, rows } = registerTable(system, grids, lang, counts);
  return toCsv(header, rows, { bom: true });
}

/** The register as a workbook: Excel keeps long grid codes as text here, which it does not in CSV. */
export async function registerXlsx(system: GridSystem, grids: Grid[], lang: Lang, counts?: Map<string, RegisterCounts>): Promise<Buffer> {
  const { header, rows } = registerTable(system, grids, lang, counts);
  return writeXlsx(lang === 'en' ? `${system.key} register` : `${system.name}责任人明细表`, header, rows);
}

/**
 * Flattens grids for a shapefile: DBF field names are at most 10 characters and hold no nested values,
 * so the first responsible person becomes resp_name/resp_title/resp_phone, helpers a list, and the full
 * people list travels as JSON in `people` where it fits.
 */
export function shapefileFeatures(grids: Grid[]): FeatureCollection<Polygon | MultiPolygon> {
  const features: Feature<Polygon | MultiPolygon>[] = grids.map((g) => {
    const responsible = g.people.find((p) => p.role === 'responsible');
    return {
      type: 'Feature',
      geometry: g.geometry,
      properties: {
        code: g.code,
        name: g.name,
        level: g.level,
        parent: g.parentCode,
        type: g.type,
        resp_name: responsible?.name ?? null,
        resp_title: responsible?.title ?? null,
        resp_phone: responsible?.phone ?? null,
        helpers: g.people.filter((p) => p.role === 'helper').map((p) => p.name).join('、') || null,
        valid_from: g.validFrom,
        valid_to: g.validTo,
        ...g.attributes,
      },
    };
  });
  return { type: 'FeatureCollection', features };
}

/** @throws {AppError} 422 dbf_value_too_long naming the grid and field whose text a DBF cannot hold. */
export async function exportShapefile(system: GridSystem, grids: Grid[], encoding: 'utf-8' | 'gbk'): Promise<Buffer> {
  try {
    return await writeShapefileZip(shapefileFeatures(grids), { name: system.key, encoding });
  } catch (err) {
    if (!(err instanceof FormatError) || err.code !== 'dbf_value_too_long') throw err;
    const { record, field, bytes } = err.details ?? {};
    const code = record === undefined ? undefined : grids[record]?.code;
    throw unprocessable(
      'dbf_value_too_long',
      `grid ${code} of system ${system.key}: field "${field}" is ${bytes} bytes in ${encoding}, more than a shapefile's DBF text field holds (254); shorten it or export GeoJSON, which holds it whole`,
      { grid: code, field, bytes, maxBytes: 254 },
    );
  }
}

export function exportGeoJson(system: GridSystem, grids: Grid[]): FeatureCollection & { system: GridSystem } {
  return { type: 'FeatureCollection', system, features: grids.map(gridToFeature) };
}
