/**
 * Cross-system overlays (issue #13): the arrangement of several grid systems over a territory, blanks,
 * overlaps and excess under a policy per area type, the regulator's tables, alignment between two
 * systems and the checks inside one bank. Pure geometry: no database, no HTTP, no I/O.
 */
export { alignGrids, gridShares, type AlignmentReport, type GridShares } from './alignment';
export { checkBank, type BankCheck, type BankGrid } from './bank-check';
export { areaTypeOf } from './policy';
export { buildOverlayReport } from './report';
export { alignmentToCsv, overlayToCsv, overlayToGeoJSON, overlayToXlsx } from './report-export';
export * from './types';
export { arrangeFaces, arrangePrepared, prepareOverlay, type ArrangedFace, type PrepareGeometry, type PreparedOverlay } from './faces';
export { extendBox, prepareShape, type PreparedShape } from './shape';
export { tabulate, type OverlayMeta } from './report';
export { arrangeInWorker } from './arrange-in-worker';
export { arrangeRequest, prepareRequest, type ArrangeRequest, type ArrangeResult, type WorkerGeometry } from './overlay-worker';
