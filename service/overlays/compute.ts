import { arrangeInWorker, arrangeRequest, type ArrangedFace, type ArrangeRequest, type ArrangeResult } from '../geometry/overlay/index';

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

/** The faces of an overlay request, and the shapes prepared on the way, in a worker thread when it is large. */
export async function computeArrangement(request: ArrangeRequest): Promise<ArrangeResult> {
  return inWorker(request) ? arrangeInWorker(request) : arrangeRequest(request);
}

/** The faces of an overlay request, in a worker thread when it is large. */
export async function computeFaces(request: ArrangeRequest): Promise<ArrangedFace[]> {
  return (await computeArrangement(request)).faces;
}
