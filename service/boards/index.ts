import type { Router } from '@koa/router';
import type { Knex } from 'knex';
import type { Authorizer } from '../http/route';
import { createPdfRenderer, type PdfRenderer } from './renderer';
import { boardsRouter } from './routes';
import { createBoardService, type BoardServiceDeps } from './service';
import { createBoardStore } from './store';

export { createPdfRenderer, type PdfRenderer } from './renderer';
export { maskPhone } from './published';
export type { BoardService } from './service';

export interface BoardsDeps {
  systems: BoardServiceDeps['systems'];
  grids: BoardServiceDeps['grids'];
  knex: Knex;
  chromiumPath: string | undefined;
  authorize: Authorizer;
}

/** The boards feature of the app (issue #17): its service, its PDF renderer and its routes. */
export function createBoards(deps: BoardsDeps): { router: Router; renderer: PdfRenderer } {
  const renderer = createPdfRenderer({ executablePath: deps.chromiumPath });
  const service = createBoardService({
    systems: deps.systems,
    grids: deps.grids,
    store: createBoardStore(deps.knex),
    renderer,
  });
  return { router: boardsRouter(service, deps.authorize), renderer };
}
