import type { Knex } from 'knex';

/**
 * What this PostGIS can do. The embedded PostGIS (3.6, no protobuf) and Debian's server PostGIS (3.3)
 * differ; code that needs one of these functions checks the flag and has a fallback (see FACTS.md).
 */
export interface Capabilities {
  postgisVersion: string;
  geosVersion: string;
  projVersion: string;
  asMvt: boolean;
  coverageInvalidEdges: boolean;
  coverageUnion: boolean;
  coverageClean: boolean;
}

export async function readCapabilities(knex: Knex): Promise<Capabilities> {
  const full: string = (await knex.raw('select postgis_full_version() as v')).rows[0].v;
  const pick = (name: string) => new RegExp(`${name}="([0-9.]+)`).exec(full)?.[1] ?? 'unknown';
  const fns: string[] = (
    await knex.raw(
      `select distinct lower(proname) as name from pg_proc
       where lower(proname) in ('st_asmvt', 'st_coverageinvalidedges', 'st_coverageunion', 'st_coverageclean')`,
    )
  ).rows.map((r: { name: string }) => r.name);
  let asMvt = fns.includes('st_asmvt');
  if (asMvt) {
    // The function exists even where PostGIS was built without protobuf-c; only a call tells.
    try {
      await knex.raw(`select ST_AsMVT(t, 'probe') from (select ST_AsMVTGeom(ST_MakePoint(0::float8, 0::float8), ST_MakeEnvelope(-1, -1, 1, 1)) as geom) t`);
    } catch {
      asMvt = false;
    }
  }
  return {
    postgisVersion: pick('POSTGIS'),
    geosVersion: pick('GEOS'),
    projVersion: pick('PROJ'),
    asMvt,
    coverageInvalidEdges: fns.includes('st_coverageinvalidedges'),
    coverageUnion: fns.includes('st_coverageunion'),
    coverageClean: fns.includes('st_coverageclean'),
  };
}
