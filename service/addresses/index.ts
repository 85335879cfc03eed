// The addresses feature: the address and household register, assignment to every system (issue #5).
export { createAddressService, type AddressService } from './service';
export { createAddressQueries, type AddressQueries } from './store';
export { addressRoutes } from './routes';
export { GridIndex, type IndexGrid } from './grid-index';
export { shapeFromGeoJson } from './shape';
export { widen } from './assignment';
export type { SourceRecord } from './rows';
