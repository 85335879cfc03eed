/** Cross-system overlays (issue #13): what other features may import. */
export { recordOverlayChanges } from './changes';
export { overlayRoutes } from './routes';
export { createOverlayService, type OverlayService } from './service';
export { createStoredOverlays, type StoredOverlays } from './stored';
export { storedOverlayRoutes } from './stored-routes';
export { overlaySourceProvider } from './tiles';
