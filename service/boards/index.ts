import type { Queryable } from '../db/tx';
import type { RouteDef } from '../http/route';
import { createPdfRenderer, type PdfRenderer } from './renderer';
import { boardRoutes } from './routes';
import { createBoardService, type BoardServiceDeps } from './service';
import { createBoardStore } from './store';

export { createPdfRenderer, type PdfRenderer } from './renderer';
export { maskPhone } from './published';
export type { BoardService } from './service';

export interface BoardsDeps {
  systems: BoardServiceDeps['systems'];
  grids: BoardServiceDeps['grids'];
  db: Queryable;
  chromiumPath: string | undefined;
  incidentCounts: BoardServiceDeps['incidentCounts'];
}

/** The boards feature of the app (issue #17): its service, its PDF renderer and its routes. */
export function createBoards(deps: BoardsDeps): { routes: RouteDef[]; renderer: PdfRenderer } {
  const renderer = createPdfRenderer({ executablePath: deps.chromiumPath });
  const service = createBoardService({
    systems: deps.systems,
    grids: deps.grids,
    store: createBoardStore(deps.db),
    renderer,
    incidentCounts: deps.incidentCounts,
  });
  return { routes: boardRoutes(service), renderer };
}

export { gridCountsRoutes } from './grid-counts-routes';
export { createGridCounts, type GridCountsAnswer, type GridCountsDeps, type GridCountsService } from './grid-counts';
export { createGridCountsStore } from './grid-counts-store';
