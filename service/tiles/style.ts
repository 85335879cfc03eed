import type { GridSourceInfo, TileSourceInfo } from './source';
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

/** What the map page reads from the style to build its switcher and legend. */
export interface StyleMetadata {
  systems: { source: string; key: string; name: string; levels: GridSourceInfo['levels']; colors: string[] }[];
}

/**
 * A MapLibre style for every source of the service, with absolute URLs under `base`. Drawing order,
 * bottom to top: background, optional basemap, fills, lines, then partition problems (issue #3: the
 * 'problems' sources add their highlight layers to that slot), then labels. The first grid system
 * (a governance one when there is one) is visible; the others are there with visibility none, for the page's switcher.
 */
export function buildStyle(infos: TileSourceInfo[], base: string, basemapUrl?: string): Record<string, unknown> {
  // The comprehensive governance grid comes first (DOMAIN.md: the grid the others are drawn against).
  const grids = infos
    .filter((i): i is GridSourceInfo => i.kind === 'grids')
    .sort((a, b) => Number(b.system.kind === 'governance') - Number(a.system.kind === 'governance') || a.id.localeCompare(b.id));
  const sources: Record<string, unknown> = {};
  const fills: Layer[] = [];
  const lines: Layer[] = [];
  const labels: Layer[] = [];
  grids.forEach((info, i) => {
    sources[info.id] = {
      type: 'vector',
      tiles: [`${base}/tiles/${info.id}/{z}/{x}/{y}.mvt`],
      minzoom: info.minzoom,
      maxzoom: info.maxzoom,
      ...(info.bounds ? { bounds: info.bounds } : {}),
    };
    const layers = gridLayers(info, i === 0);
    fills.push(...layers.fills);
    lines.push(...layers.lines);
    labels.push(...layers.labels);
  });
  const basemap: Layer[] = [];
  if (basemapUrl) {
    sources.basemap = { type: 'raster', tiles: [basemapUrl], tileSize: 256 };
    basemap.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  const bounds = unionBounds(grids.map((g) => g.bounds));
  const metadata: StyleMetadata = {
    systems: grids.map((g) => ({ source: g.id, key: g.system.key, name: g.name, levels: g.levels, colors: g.levels.map((l) => levelColor(l.order)) })),
  };
  return {
    version: 8,
    name: 'gridatlas',
    metadata: { gridatlas: metadata },
    center: bounds ? [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2] : [104.07, 30.67],
    // Style zooms are in 512-pixel tiles, fitZoom in 256-pixel ones.
    zoom: bounds ? Math.max(0, fitZoom(bounds, 768) - 1) : 3,
    sources,
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } }, ...basemap, ...fills, ...lines, ...labels],
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
