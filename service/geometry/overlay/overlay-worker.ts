import { parentPort } from 'node:worker_threads';
import type { MultiPolygon, Polygon } from 'geojson';
import { arrangeFaces, type ArrangedFace } from './faces';

/** A geometry as the worker receives it: GeoJSON text (parsed here, off the event loop) or an object. */
export type WorkerGeometry = Polygon | MultiPolygon | string | null;

export interface ArrangeRequest {
  territory: { system: string; code: string; name: string; geometry: WorkerGeometry };
  units: { code: string; name: string; type: string | null; geometry: WorkerGeometry }[];
  systems: { key: string; name: string; grids: { system: string; code: string; name: string; geometry: WorkerGeometry }[] }[];
  options: { within?: boolean[]; unitsOnly?: boolean };
}

export type ArrangeMessage = { type: 'done'; faces: ArrangedFace[] } | { type: 'error'; message: string };

const parse = (g: WorkerGeometry): Polygon | MultiPolygon | null => (typeof g === 'string' ? JSON.parse(g) : g);

/** `arrangeFaces` over a request whose geometries may still be GeoJSON text; the worker runs it, and so does a small overlay on the event loop. */
export function arrangeRequest(request: ArrangeRequest): ArrangedFace[] {
  return arrangeFaces(
    {
      territory: { ...request.territory, geometry: parse(request.territory.geometry) },
      units: request.units.map((u) => ({ ...u, geometry: parse(u.geometry) })),
      systems: request.systems.map((s) => ({ ...s, grids: s.grids.map((g) => ({ ...g, geometry: parse(g.geometry) })) })),
    },
    request.options,
  );
}

parentPort?.on('message', (request: ArrangeRequest) => {
  try {
    const faces = arrangeRequest(request);
    parentPort!.postMessage({ type: 'done', faces } satisfies ArrangeMessage);
  } catch (error) {
    parentPort!.postMessage({ type: 'error', message: (error as Error).message } satisfies ArrangeMessage);
  }
});
