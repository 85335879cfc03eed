import type { Router } from '@koa/router';
import type { ChangeBus } from '../db/changes';
import type { RegisterCounts } from '../domain/export';
import type { Authorizer } from '../http/route';
import { cachedCounts } from './counts';
import { createPdfRenderer, type PdfRenderer } from './renderer';
import { boardsRouter } from './routes';
import { createBoardService, type BoardServiceDeps } from './service';

export { createPdfRenderer, type PdfRenderer } from './renderer';
export { maskPhone } from './published';
export type { BoardService } from './service';

export interface BoardsDeps {
  systems: BoardServiceDeps['systems'];
  grids: BoardServiceDeps['grids'];
  registerCounts: (system: string) => Promise<Map<string, RegisterCounts>>;
  changes: ChangeBus;
  chromiumPath: string | undefined;
  authorize: Authorizer;
}

/** The boards feature of the app (issue #17): its service, its PDF renderer and its routes. */
export function createBoards(deps: BoardsDeps): { router: Router; renderer: PdfRenderer } {
  const renderer = createPdfRenderer({ executablePath: deps.chromiumPath });
  const service = createBoardService({
    systems: deps.systems,
    grids: deps.grids,
    counts: cachedCounts(deps.registerCounts, deps.changes),
    renderer,
  });
  return { router: boardsRouter(service, deps.authorize), renderer };
}
