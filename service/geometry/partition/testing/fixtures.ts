import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import { reportToGeoJSON } from '../report-geojson';
import type { IssueKind, PartitionGrid, PartitionOptions, PartitionReport, PartitionSystem } from '../types';
import { GOVERNANCE_SYSTEM } from './generate';

type FixtureFile = FeatureCollection<Geometry | null> & { system?: Partial<PartitionSystem>; options?: PartitionOptions; defects?: IssueKind[] };

/**
 * A fixture file: a FeatureCollection of grids (properties code, parent, level) with optional foreign
 * members `system` (levels, overlapPolicy), `options` and `defects` (the issue kinds the case must
 * produce, exactly; none for valid cases).
 */
export interface PartitionFixture {
  name: string;
  system: PartitionSystem;
  grids: PartitionGrid[];
  options: PartitionOptions;
  defects: IssueKind[];
  collection: FixtureFile;
}

/** Reads a fixture file; the system defaults to the four-level governance system keyed by the file name. */
export function loadFixture(path: string): PartitionFixture {
  const name = basename(path, '.geojson');
  const collection = JSON.parse(readFileSync(path, 'utf8')) as FixtureFile;
  const system: PartitionSystem = { ...GOVERNANCE_SYSTEM, key: name, ...collection.system };
  const grids = collection.features.map((f, i): PartitionGrid => {
    const p = f.properties ?? {};
    if (p.code === undefined || p.level === undefined) throw new Error(`${path}: feature ${i} needs properties code and level`);
    return { code: String(p.code), parentCode: p.parent === undefined || p.parent === null ? null : String(p.parent), level: String(p.level), geometry: f.geometry as Polygon | MultiPolygon | null };
  });
  return { name, system, grids, options: collection.options ?? {}, defects: collection.defects ?? [], collection };
}

/** Grids as a fixture FeatureCollection (the form `loadFixture` reads). */
export function gridsToFixture(grids: readonly PartitionGrid[]): FixtureFile {
  const features: Feature<Geometry | null>[] = grids.map((g) => ({ type: 'Feature', properties: { code: g.code, parent: g.parentCode, level: g.level }, geometry: g.geometry }));
  return { type: 'FeatureCollection', features };
}

/**
 * The expected-output document of a fixture: itself a FeatureCollection holding the input grids (role
 * "input") and the issues (role "issue") so it opens on a map, with the report, minus its timestamp,
 * as the foreign member `report`.
 */
export function expectedDocument(fixture: PartitionFixture, report: PartitionReport): object {
  const { generatedAt: _generatedAt, ...stable } = report;
  const inputs = fixture.collection.features.map((f) => ({ ...f, properties: { role: 'input', ...f.properties } }));
  const issues = reportToGeoJSON(report).features.map((f) => ({ ...f, properties: { role: 'issue', ...f.properties } }));
  return { type: 'FeatureCollection', name: fixture.name, report: stable, features: [...inputs, ...issues] };
}

/**
 * JSON with the foreign members pretty-printed (geometries kept on one line) and one feature per line:
 * readable diffs, modest size.
 */
export function stringifyDocument(document: object): string {
  const { features, ...rest } = document as { features: unknown[] };
  const geometries: string[] = [];
  const pretty = JSON.stringify(rest, (key, value: unknown) => (key === 'geometry' && value ? `\u0000${geometries.push(JSON.stringify(value)) - 1}` : value), 2);
  const head = pretty.replace(/"\\u0000(\d+)"/g, (_, i: string) => geometries[Number(i)]).replace(/\n}$/, ',\n  "features": [\n');
  return head + features.map((f) => '    ' + JSON.stringify(f)).join(',\n') + '\n  ]\n}\n';
}
