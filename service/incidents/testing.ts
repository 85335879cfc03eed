import type { Feature, Polygon } from 'geojson';
import type { ActorInput, IncidentView } from './service';
import type { ActorRef } from './workflow';

/**
 * A small territory for incident tests: district Q (2×2 km) → streets Q1 (west), Q2 (east) → communities
 * …A (south), …B (north) → grids …1 (west half), …2 (east half); and a health system over the same
 * ground that does not follow those lines (H1 south, H2 north).
 */
export const X0 = 104.1;
export const Y0 = 30.7;
const D = 0.01;

export const governanceSystem = {
  key: 'inc-gov',
  name: '测试综合网格',
  kind: 'governance',
  levels: [
    { key: 'district', name: '区县', order: 1 },
    { key: 'street', name: '街道', order: 2 },
    { key: 'community', name: '社区', order: 3 },
    { key: 'grid', name: '网格', order: 4 },
  ],
  codeScheme: { type: 'free' },
} as const;

export const healthSystem = {
  key: 'inc-health',
  name: '测试卫生网格',
  kind: 'health',
  levels: [{ key: 'area', name: '卫生网格', order: 1 }],
  codeScheme: { type: 'free' },
} as const;

const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
const feature = (code: string, level: string, parent: string | null, geometry: Polygon): Feature => ({
  type: 'Feature',
  properties: { code, name: `单元${code}`, level, parent },
  geometry,
});

export function governanceGrids(): Feature[] {
  const out = [feature('Q', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D))];
  for (const [s, sx] of [['Q1', 0], ['Q2', D]] as const) {
    out.push(feature(s, 'street', 'Q', rect(X0 + sx, Y0, X0 + sx + D, Y0 + 2 * D)));
    for (const [c, cy] of [['A', 0], ['B', D]] as const) {
      out.push(feature(`${s}${c}`, 'community', s, rect(X0 + sx, Y0 + cy, X0 + sx + D, Y0 + cy + D)));
      out.push(feature(`${s}${c}1`, 'grid', `${s}${c}`, rect(X0 + sx, Y0 + cy, X0 + sx + D / 2, Y0 + cy + D)));
      out.push(feature(`${s}${c}2`, 'grid', `${s}${c}`, rect(X0 + sx + D / 2, Y0 + cy, X0 + sx + D, Y0 + cy + D)));
    }
  }
  return out;
}

export function healthGrids(): Feature[] {
  return [feature('H1', 'area', null, rect(X0, Y0, X0 + 2 * D, Y0 + D)), feature('H2', 'area', null, rect(X0, Y0 + D, X0 + 2 * D, Y0 + 2 * D))];
}

/** The middle of a grid of the governance system, by code (e.g. "Q2B1"). */
export function pointIn(code: string): { x: number; y: number } {
  const sx = code[1] === '1' ? 0 : D;
  const cy = code[2] === 'A' ? 0 : D;
  const gx = code[3] === '1' ? D / 4 : (3 * D) / 4;
  return { x: X0 + sx + gx, y: Y0 + cy + D / 2 };
}

/** A caller that fills an actor slot of a table for this case. */
export function actorFor(ref: ActorRef, incident: IncidentView): ActorInput {
  switch (ref.kind) {
    case 'grid_worker':
      return { kind: 'grid_worker', unit: incident.chain[0]!.code, name: '网格员' };
    case 'unit_officer': {
      const offset = ref.level === 'grid' ? 0 : ref.level === 'handling' ? incident.handling.level : incident.handling.level + 1;
      return { kind: 'unit_officer', unit: incident.chain[offset]!.code, name: '干部' };
    }
    case 'department':
      return { kind: 'department', department: incident.department!, name: '部门' };
    case 'command_centre':
      return { kind: 'command_centre', name: '指挥中心' };
  }
}
