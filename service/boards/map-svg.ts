import type { MultiPolygon, Polygon, Position } from 'geojson';
import { labelPoint } from '../tiles';
import { escapeXml } from '../formats/escape';

/**
 * A printable map drawn from the grids' own geometry as inline SVG: no tiles, fonts or scripts to fetch,
 * so a board renders the same in a browser, in print and in a PDF, fully offline (DOMAIN.md "Access and
 * privacy": no third-party map service). Coordinates are projected to Web Mercator like the map page.
 */
export interface MapShape {
  geometry: Polygon | MultiPolygon;
  /** `focus`: the grids the map is about (filled); `context`: neighbours (grey); `outline`: a boundary drawn over them. */
  role: 'focus' | 'context' | 'outline';
  label?: string;
  /** Fill colour of a focus shape. */
  fill?: string;
}

export interface MapOptions {
  width: number;
  height: number;
  /** Language of the scale bar's unit. */
  lang: 'zh-CN' | 'en';
  /** Margin around the focus shapes as a fraction of the map's size, leaving room for neighbours. */
  padding?: number;
}

type Bounds = [number, number, number, number];

const R = 6378137;
const mercX = (lon: number) => (lon * Math.PI * R) / 180;
const mercY = (lat: number) => R * Math.log(Math.tan(Math.PI / 4 + (Math.max(-85, Math.min(85, lat)) * Math.PI) / 360));

/**
 * Draws the shapes fitted to the extent of the focus shapes (all shapes when none is focus), with a
 * north arrow and a scale bar.
 * @returns an `<svg>` element, or a placeholder saying there is nothing to draw
 * @example mapSvg([{ geometry, role: 'focus', label: '第1网格' }], { width: 600, height: 400, lang: 'zh-CN' })
 */
export function mapSvg(shapes: MapShape[], options: MapOptions): string {
  const { width, height } = options;
  const focus = shapes.filter((s) => s.role === 'focus');
  const bounds = boundsOf(focus.length ? focus : shapes);
  const open = `<svg xmlns="http://www.w3.org/2000/svg" class="grid-map" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`;
  if (!bounds) return `${open}<rect width="${width}" height="${height}" fill="#f4f4f4"/></svg>`;

  const pad = options.padding ?? 0.05;
  const [x0, y0, x1, y1] = [mercX(bounds[0]), mercY(bounds[1]), mercX(bounds[2]), mercY(bounds[3])];
  const spanX = Math.max(x1 - x0, 1);
  const spanY = Math.max(y1 - y0, 1);
  const scale = Math.min((width * (1 - 2 * pad)) / spanX, (height * (1 - 2 * pad)) / spanY);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = (p: Position): [number, number] => [width / 2 + (mercX(p[0]!) - cx) * scale, height / 2 - (mercY(p[1]!) - cy) * scale];

  const path = (g: Polygon | MultiPolygon) => {
    const polygons = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    let d = '';
    for (const polygon of polygons) {
      for (const ring of polygon) {
        ring.forEach((p, i) => {
          const [x, y] = px(p);
          d += `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`;
        });
        d += 'Z';
      }
    }
    return d;
  };

  const parts: string[] = [open, `<rect width="${width}" height="${height}" fill="#f7f7f2"/>`];
  for (const s of shapes.filter((s) => s.role === 'context')) {
    parts.push(`<path d="${path(s.geometry)}" fill="#e4e4e0" stroke="#9a9a96" stroke-width="0.8" fill-rule="evenodd"/>`);
  }
  for (const s of focus) {
    parts.push(`<path d="${path(s.geometry)}" fill="${s.fill ?? '#f6c56b'}" fill-opacity="0.85" stroke="#a0522d" stroke-width="1.2" fill-rule="evenodd"/>`);
  }
  for (const s of shapes.filter((s) => s.role === 'outline')) {
    parts.push(`<path d="${path(s.geometry)}" fill="none" stroke="#7a1f1f" stroke-width="2.4" stroke-linejoin="round"/>`);
  }
  for (const s of shapes) {
    if (!s.label) continue;
    const at = labelPoint(s.geometry);
    if (!at) continue;
    const [x, y] = px(at);
    if (x < 0 || y < 0 || x > width || y > height) continue;
    const size = s.role === 'context' ? 10 : 12;
    const weight = s.role === 'focus' ? 'bold' : 'normal';
    parts.push(
      `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" font-weight="${weight}" text-anchor="middle" dominant-baseline="middle" fill="${s.role === 'context' ? '#55554f' : '#222'}" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(s.label)}</text>`,
    );
  }
  parts.push(northArrow(width), scaleBar(scale, cy, height, options.lang), '</svg>');
  return parts.join('');
}

function boundsOf(shapes: MapShape[]): Bounds | null {
  let b: Bounds | null = null;
  for (const s of shapes) {
    const polygons = s.geometry.type === 'Polygon' ? [s.geometry.coordinates] : s.geometry.coordinates;
    for (const polygon of polygons) {
      for (const [x, y] of polygon[0] ?? []) {
        if (!b) b = [x!, y!, x!, y!];
        else b = [Math.min(b[0], x!), Math.min(b[1], y!), Math.max(b[2], x!), Math.max(b[3], y!)];
      }
    }
  }
  return b;
}

function northArrow(width: number): string {
  const x = width - 24;
  return `<g transform="translate(${x} 14)"><rect x="-11" y="-4" width="22" height="42" fill="#fff" fill-opacity="0.8"/><path d="M0 0L7 20L0 15L-7 20Z" fill="#333"/><text x="0" y="32" font-size="11" text-anchor="middle" fill="#333">N</text></g>`;
}

/** A bar of a round length (1, 2 or 5 × 10ⁿ m) near a fifth of the width, true at the map's centre latitude. */
function scaleBar(scale: number, cy: number, height: number, lang: 'zh-CN' | 'en'): string {
  const lat = (2 * Math.atan(Math.exp(cy / R)) - Math.PI / 2);
  const metresPerPixel = Math.cos(lat) / scale;
  const target = 120 * metresPerPixel;
  const power = 10 ** Math.floor(Math.log10(target));
  const metres = [5, 2, 1].map((m) => m * power).find((m) => m <= target) ?? power;
  const length = metres / metresPerPixel;
  const text = metres >= 1000 ? `${metres / 1000} ${lang === 'en' ? 'km' : '公里'}` : `${metres} ${lang === 'en' ? 'm' : '米'}`;
  const y = height - 14;
  return `<g transform="translate(12 ${y})"><rect x="-4" y="-20" width="${(length + 8).toFixed(1)}" height="24" fill="#fff" fill-opacity="0.8"/><rect x="0" y="-4" width="${length.toFixed(1)}" height="4" fill="#333"/><text x="0" y="-8" font-size="10" fill="#333">${text}</text></g>`;
}

