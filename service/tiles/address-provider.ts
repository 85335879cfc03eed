import type { Database } from '../db/engine';
import { createAddressTileQueries } from './address-store';
import { ADDRESS_SOURCE_ID, AddressSource } from './address-source';
import type { TileSourceProvider } from './source';

/**
 * The address source, once the register holds an address. Until then each address change asks for a
 * discovery; after, changes only update the source (AddressSource.onChange): no API deletes addresses,
 * so the source never has to go.
 */
export function addressSourceProvider(db: Database): TileSourceProvider {
  const queries = createAddressTileQueries(db.knex);
  let present = false;
  return {
    rediscoverOn: (event) => event.kind === 'addresses' && !present,
    async discover(current) {
      const existing = current.get(ADDRESS_SOURCE_ID);
      if (existing instanceof AddressSource) return [existing];
      present = await queries.any();
      return present ? [new AddressSource(queries)] : [];
    },
  };
}
