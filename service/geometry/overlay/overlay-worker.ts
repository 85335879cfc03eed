import { parentPort } from 'node:worker_threads';
import type { MultiPolygon, Polygon } from 'geojson';
import { arrangePrepared, prepareOverlay, type ArrangedFace, type PreparedOverlay } from './faces';
import type { PreparedShape } from './shape';

/** A geometry as the worker receives it: GeoJSON text (parsed here, off the event loop), an object, or prepared (`shape.ts`). */
export type WorkerGeometry = Polygon | MultiPolygon | PreparedShape | string | null;

export interface ArrangeRequest {
  territory: { system: string; code: string; name: string; geometry: WorkerGeometry };
  units: { code: string; name: string; type: string | null; geometry: WorkerGeometry }[];
  systems: { key: string; name: string; grids: { system: string; code: string; name: string; geometry: WorkerGeometry }[] }[];
  options: { within?: boolean[]; unitsOnly?: boolean };
}

/** The faces, and the shapes prepared here for geometries that came unprepared (null where one came prepared or none). */
export interface ArrangeResult {
  faces: ArrangedFace[];
  made: PreparedOverlay['shapes'];
}

export type ArrangeMessage = ({ type: 'done' } & ArrangeResult) | { type: 'error'; message: string };

const parse = (g: WorkerGeometry): Polygon | MultiPolygon | PreparedShape | null => (typeof g === 'string' ? JSON.parse(g) : g);

/**
 * A request's input prepared (`prepareOverlay`), GeoJSON text parsed first, with the shapes made for the
 * geometries that came unprepared (null where one came prepared, or none).
 */
export function prepareRequest(request: Omit<ArrangeRequest, 'options'>): { prepared: PreparedOverlay; made: PreparedOverlay['shapes'] } {
  const prepared = prepareOverlay({
    territory: { ...request.territory, geometry: parse(request.territory.geometry) },
    units: request.units.map((u) => ({ ...u, geometry: parse(u.geometry) })),
    systems: request.systems.map((s) => ({ ...s, grids: s.grids.map((g) => ({ ...g, geometry: parse(g.geometry) })) })),
  });
  const fresh = (given: WorkerGeometry, shape: PreparedShape | null) => (given instanceof Uint8Array ? null : shape);
  const { shapes } = prepared;
  const made = {
    territory: fresh(request.territory.geometry, shapes.territory),
    units: request.units.map((u, k) => fresh(u.geometry, shapes.units[k]!)),
    grids: request.systems.map((s, i) => s.grids.map((g, k) => fresh(g.geometry, shapes.grids[i]![k]!))),
  };
  return { prepared, made };
}

/** `arrangeFaces` over a request whose geometries may still be GeoJSON text; the worker runs it, and so does a small overlay on the event loop. */
export function arrangeRequest(request: ArrangeRequest): ArrangeResult {
  const { prepared, made } = prepareRequest(request);
  return { faces: arrangePrepared(prepared, request.options), made };
}

parentPort?.on('message', (request: ArrangeRequest) => {
  try {
    parentPort!.postMessage({ type: 'done', ...arrangeRequest(request) } satisfies ArrangeMessage);
  } catch (error) {
    parentPort!.postMessage({ type: 'error', message: (error as Error).message } satisfies ArrangeMessage);
  }
});
