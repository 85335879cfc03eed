import type { Feature, MultiPolygon, Polygon } from 'geojson';

/** A small governance system: a 2×2 km district split into two streets, each into two communities. */
export const smallSystem = {
  key: 'test-gov',
  name: '测试综合网格',
  kind: 'governance',
  levels: [
    { key: 'district', name: '区县', order: 1 },
    { key: 'street', name: '街道', order: 2 },
    { key: 'community', name: '社区', order: 3, households: { min: 200, max: 500 } },
  ],
  codeScheme: { type: 'free' },
} as const;

const X0 = 104.0;
const Y0 = 30.6;
const D = 0.01;

export function rect(x0: number, y0: number, x1: number, y1: number): Polygon {
  return { type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] };
}

export function gridFeature(code: string, level: string, parent: string | null, geometry: Polygon | MultiPolygon | unknown, extra: Record<string, unknown> = {}): Feature {
  return { type: 'Feature', properties: { code, name: `网格${code}`, level, parent, ...extra }, geometry: geometry as Polygon };
}

/** District D (2×2 cells), streets S1 (west) and S2 (east), communities S1A/S1B (south/north) and S2A/S2B. */
export function smallCity(): Feature[] {
  return [
    gridFeature('D', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
    gridFeature('D01', 'street', 'D', rect(X0, Y0, X0 + D, Y0 + 2 * D)),
    gridFeature('D02', 'street', 'D', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D)),
    gridFeature('D01A', 'community', 'D01', rect(X0, Y0, X0 + D, Y0 + D), {
      people: [{ name: '张伟', role: 'responsible', title: '网格长', phone: '13800000001' }, { name: '李娜', role: 'helper' }],
      households: 320,
    }),
    gridFeature('D01B', 'community', 'D01', rect(X0, Y0 + D, X0 + D, Y0 + 2 * D), { households: 410 }),
    gridFeature('D02A', 'community', 'D02', rect(X0 + D, Y0, X0 + 2 * D, Y0 + D), { households: 250 }),
    gridFeature('D02B', 'community', 'D02', rect(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D), { households: 480 }),
  ];
}

export const cityOrigin = { x: X0, y: Y0, d: D };
