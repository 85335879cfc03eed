import type { MultiPolygon, Polygon } from 'geojson';
import { arrangeInWorker, arrangeRequest, type ArrangedFace, type ArrangeRequest, type WorkerGeometry } from '../geometry/overlay/index';

/**
 * From this many units and participating grids on, an overlay is arranged in a worker thread so the event
 * loop keeps serving (the project's rule for heavy geometry); below it the thread's round trip costs more
 * than the arrangement (the demo city's 40 communities and 63 bank grids: ~30 ms inline).
 */
export const WORKER_THRESHOLD = 300;

/** Whether an overlay of this many units and grids is arranged in the worker. */
export function inWorker(request: Pick<ArrangeRequest, 'units' | 'systems'>): boolean {
  return request.units.length + request.systems.reduce((n, s) => n + s.grids.length, 0) >= WORKER_THRESHOLD;
}

/** The faces of an overlay request, in a worker thread when it is large. */
export async function computeFaces(request: ArrangeRequest): Promise<ArrangedFace[]> {
  return inWorker(request) ? arrangeInWorker(request) : arrangeRequest(request);
}

/** A request's geometries parsed (GeoJSON text to objects), for arranging on the event loop. */
export function parsedInput(request: Omit<ArrangeRequest, 'options'>) {
  const parse = (g: WorkerGeometry) => (typeof g === 'string' ? (JSON.parse(g) as Polygon | MultiPolygon) : g);
  return {
    territory: { ...request.territory, geometry: parse(request.territory.geometry) },
    units: request.units.map((u) => ({ ...u, geometry: parse(u.geometry) })),
    systems: request.systems.map((s) => ({ ...s, grids: s.grids.map((g) => ({ ...g, geometry: parse(g.geometry) })) })),
  };
}
