import type { AddressSourceInfo, GridSourceInfo, ProblemsSourceInfo, TileSourceInfo } from './source';
import { fitZoom, unionBounds } from './tile-math';

type Layer = Record<string, unknown> & { id: string; type: string };

/** Level colours by order, coarsest first; a system with more levels reuses the last. */
const LEVEL_COLORS = ['#8e2c1f', '#1f5f8e', '#1b7a5a', '#7a3d8e', '#a8661b', '#3d5a80', '#6b6b6b'];
const levelColor = (order: number) => LEVEL_COLORS[Math.min(order, LEVEL_COLORS.length) - 1]!;

/**
 * Fonts for labels. The style has no `glyphs` URL, so MapLibre (6.x) draws every glyph in the browser
 * from these local fonts, Chinese and Latin alike: nothing is fetched, and no glyph server is needed.
 */
const LABEL_FONTS = ['Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', 'sans-serif'];

/**
 * Partition issue kinds (issue #3) by colour: coverage defects in strong colours, structural ones
 * (a whole grid is the geometry) in browns drawn with a light fill. 'empty' has no geometry.
 */
const PROBLEM_COLORS: Record<string, string> = {
  gap: '#e53935',
  sliver: '#fb8c00',
  overlap: '#8e24aa',
  outside: '#1e88e5',
  invalid: '#d81b60',
  'edge-mismatch': '#00897b',
  orphan: '#6d4c41',
  level: '#795548',
  code: '#8d6e63',
  'duplicate-code': '#a1887f',
};
const STRUCTURE_KINDS = ['orphan', 'level', 'code', 'duplicate-code'];

/** Address kinds (migrations/002_addresses.ts) by colour. */
const ADDRESS_COLORS: Record<string, string> = { residential: '#2e7d32', business: '#ef6c00', organisation: '#6a1b9a', public: '#00838f' };
const CLUSTER_COLOR = '#3f6fb5';

/** A partition report as the page's toggle and legend show it: its layers and the kinds it has, commonest first. */
export interface ProblemsMetadata {
  source: string;
  layers: string[];
  generatedAt: string;
  stale: boolean;
  kinds: { kind: string; color: string; count: number }[];
}

/** What the map page reads from the style to build its switcher, toggles and legend. */
export interface StyleMetadata {
  systems: { source: string; key: string; name: string; levels: GridSourceInfo['levels']; colors: string[]; problems: ProblemsMetadata | null }[];
  addresses: { source: string; layers: string[]; pointMinzoom: number; clusterColor: string; kinds: { kind: string; color: string }[] } | null;
}

/**
 * A MapLibre style for every source of the service, with absolute URLs under `base`. Drawing order,
 * bottom to top: background, optional basemap, grid fills, grid lines, partition problems (issue #3),
 * addresses (issue #5), then grid labels. The first grid system (a governance one when there is one)
 * and its problems are visible; the others are there with visibility none, for the page's switcher.
 * Overlay layers carry `gridatlas:overlay` metadata ('problems' or 'addresses') for the page's toggles.
 */
export function buildStyle(infos: TileSourceInfo[], base: string, basemapUrl?: string): Record<string, unknown> {
  // The comprehensive governance grid comes first (DOMAIN.md: the grid the others are drawn against).
  const grids = infos
    .filter((i): i is GridSourceInfo => i.kind === 'grids')
    .sort((a, b) => Number(b.system.kind === 'governance') - Number(a.system.kind === 'governance') || a.id.localeCompare(b.id));
  const problems = new Map(infos.filter((i): i is ProblemsSourceInfo => i.kind === 'problems').map((i) => [i.system.key, i]));
  const addresses = infos.find((i): i is AddressSourceInfo => i.kind === 'addresses') ?? null;
  const sources: Record<string, unknown> = {};
  const vectorSource = (info: TileSourceInfo) => ({
    type: 'vector',
    tiles: [`${base}/tiles/${info.id}/{z}/{x}/{y}.mvt`],
    minzoom: info.minzoom,
    maxzoom: info.maxzoom,
    ...(info.bounds ? { bounds: info.bounds } : {}),
  });
  const fills: Layer[] = [];
  const lines: Layer[] = [];
  const overlays: Layer[] = [];
  const labels: Layer[] = [];
  const problemsMetadata = new Map<string, ProblemsMetadata>();
  grids.forEach((info, i) => {
    sources[info.id] = vectorSource(info);
    const layers = gridLayers(info, i === 0);
    fills.push(...layers.fills);
    lines.push(...layers.lines);
    labels.push(...layers.labels);
    const problemsInfo = problems.get(info.system.key);
    const report = problemsInfo?.report;
    if (!problemsInfo || !report) return;
    sources[problemsInfo.id] = vectorSource(problemsInfo);
    const drawn = problemLayers(problemsInfo, i === 0);
    overlays.push(...drawn);
    problemsMetadata.set(info.system.key, {
      source: problemsInfo.id,
      layers: drawn.map((l) => l.id),
      generatedAt: report.generatedAt,
      stale: report.stale,
      kinds: Object.entries(report.counts)
        .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
        .map(([kind, count]) => ({ kind, color: PROBLEM_COLORS[kind] ?? OTHER_COLOR, count })),
    });
  });
  const addressDrawn = addresses ? addressLayers(addresses) : [];
  if (addresses) {
    sources[addresses.id] = vectorSource(addresses);
    overlays.push(...addressDrawn);
  }
  const basemap: Layer[] = [];
  if (basemapUrl) {
    sources.basemap = { type: 'raster', tiles: [basemapUrl], tileSize: 256 };
    basemap.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  const bounds = unionBounds(grids.map((g) => g.bounds));
  const metadata: StyleMetadata = {
    systems: grids.map((g) => ({
      source: g.id,
      key: g.system.key,
      name: g.name,
      levels: g.levels,
      colors: g.levels.map((l) => levelColor(l.order)),
      problems: problemsMetadata.get(g.system.key) ?? null,
    })),
    addresses: addresses && {
      source: addresses.id,
      layers: addressDrawn.map((l) => l.id),
      pointMinzoom: addresses.pointMinzoom,
      clusterColor: CLUSTER_COLOR,
      kinds: Object.entries(ADDRESS_COLORS).map(([kind, color]) => ({ kind, color })),
    },
  };
  return {
    version: 8,
    name: 'gridatlas',
    metadata: { gridatlas: metadata },
    center: bounds ? [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2] : [104.07, 30.67],
    // Style zooms are in 512-pixel tiles, fitZoom in 256-pixel ones.
    zoom: bounds ? Math.max(0, fitZoom(bounds, 768) - 1) : 3,
    sources,
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } }, ...basemap, ...fills, ...lines, ...overlays, ...labels],
  };
}

/**
 * A grid system's layers. Each level is put in tiles from its minzoom (levels.ts); its fill and labels
 * show until the next level takes over, its outline stays, thinner for finer levels. The fill and
 * outline read the `selected` feature state the page sets on a clicked grid.
 */
function gridLayers(info: GridSourceInfo, visible: boolean) {
  const layout = { visibility: visible ? 'visible' : 'none' };
  const fills: Layer[] = [];
  const lines: Layer[] = [];
  const labels: Layer[] = [];
  const selected = ['boolean', ['feature-state', 'selected'], false];
  info.levels.forEach((level, i) => {
    const next = info.levels[i + 1]?.minzoom;
    const until = next !== undefined && next > level.minzoom ? { maxzoom: next } : {};
    const color = levelColor(level.order);
    const common = { source: info.id, 'source-layer': level.layer, minzoom: level.minzoom, metadata: { 'gridatlas:source': info.id, 'gridatlas:level': level.key } };
    fills.push({
      id: `${level.layer}:fill`,
      type: 'fill',
      ...common,
      ...until,
      layout,
      paint: { 'fill-color': color, 'fill-opacity': ['case', selected, 0.35, 0.08] },
    });
    lines.push({
      id: `${level.layer}:line`,
      type: 'line',
      ...common,
      layout,
      paint: { 'line-color': ['case', selected, '#d81b60', color], 'line-width': ['case', selected, 3, Math.max(0.6, 3 - 0.6 * (level.order - 1))] },
    });
    labels.push({
      id: `${level.layer}:label`,
      type: 'symbol',
      ...common,
      ...(next !== undefined && next > level.minzoom ? { maxzoom: next + 1 } : {}),
      layout: {
        ...layout,
        'text-field': ['format', ['get', 'name'], {}, '\n', {}, ['get', 'code'], { 'font-scale': 0.85 }],
        'text-font': LABEL_FONTS,
        'text-size': 12,
        'text-max-width': 8,
        'text-padding': 4,
      },
      paint: { 'text-color': '#222', 'text-halo-color': '#fff', 'text-halo-width': 1.4 },
    });
  });
  return { fills, lines, labels };
}

const OTHER_COLOR = '#555555';
const byKind = (colors: Record<string, string>) => ['match', ['get', 'kind'], ...Object.entries(colors).flat(), OTHER_COLOR];
// MapLibre's geometry-type names multi-part features MultiPolygon and so on.
const isType = (...types: string[]) => ['in', ['geometry-type'], ['literal', types]];

/**
 * A report's issues: coloured fills with outlines where they are polygons, lines, and circles for
 * points (invalid spots and the marker every issue has, problems-source.ts), so each issue shows at any zoom.
 */
function problemLayers(info: ProblemsSourceInfo, visible: boolean): Layer[] {
  const layout = { visibility: visible ? 'visible' : 'none' };
  const common = { source: info.id, 'source-layer': info.id, metadata: { 'gridatlas:source': info.id, 'gridatlas:overlay': 'problems' } };
  const color = byKind(PROBLEM_COLORS);
  return [
    {
      id: `${info.id}:fill`,
      type: 'fill',
      ...common,
      filter: isType('Polygon', 'MultiPolygon'),
      layout,
      paint: { 'fill-color': color, 'fill-opacity': ['match', ['get', 'kind'], STRUCTURE_KINDS, 0.12, 0.5] },
    },
    {
      id: `${info.id}:line`,
      type: 'line',
      ...common,
      filter: isType('Polygon', 'MultiPolygon', 'LineString', 'MultiLineString'),
      layout,
      paint: { 'line-color': color, 'line-width': 2 },
    },
    {
      id: `${info.id}:point`,
      type: 'circle',
      ...common,
      filter: isType('Point', 'MultiPoint'),
      layout,
      paint: {
        'circle-color': color,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 4, 16, 7],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.5,
      },
    },
  ];
}

/** Cluster bubbles with their address count, and one dot per address coloured by kind (a cluster of one is a dot too). */
function addressLayers(info: AddressSourceInfo): Layer[] {
  const common = { source: info.id, 'source-layer': info.id, metadata: { 'gridatlas:source': info.id, 'gridatlas:overlay': 'addresses' } };
  const isCluster = ['>', ['coalesce', ['get', 'point_count'], 1], 1];
  const layout = { visibility: 'visible' };
  return [
    {
      id: `${info.id}:cluster`,
      type: 'circle',
      ...common,
      filter: isCluster,
      layout,
      paint: {
        'circle-color': CLUSTER_COLOR,
        'circle-opacity': 0.8,
        // At most 30 px across: clusters are 32 px apart (address-source.ts).
        'circle-radius': ['step', ['get', 'point_count'], 9, 20, 11, 200, 13, 2000, 15],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.5,
      },
    },
    {
      id: `${info.id}:count`,
      type: 'symbol',
      ...common,
      filter: isCluster,
      // Counts always show: they are what a bubble means, and grid labels must not push them out.
      layout: { ...layout, 'text-field': ['to-string', ['get', 'point_count']], 'text-font': LABEL_FONTS, 'text-size': 11, 'text-allow-overlap': true, 'text-ignore-placement': true },
      paint: { 'text-color': '#ffffff' },
    },
    {
      id: `${info.id}:point`,
      type: 'circle',
      ...common,
      filter: ['!', isCluster],
      layout,
      paint: {
        'circle-color': ['case', ['has', 'kind'], byKind(ADDRESS_COLORS), CLUSTER_COLOR],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 16, 4, 19, 7],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1,
      },
    },
  ];
}
