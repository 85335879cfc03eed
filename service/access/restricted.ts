/**
 * Police-sourced fields (DOMAIN.md "Access and privacy": police-sourced data on key persons is restricted).
 * A register column is police-sourced when its name starts with `police_` or `公安`, or is one of the names
 * registers use for key persons. Only callers with `persons:restricted` (the police, administrators) read
 * them; officers see per-grid counts where a grid carries them as attributes (DOMAIN.md "Addresses,
 * buildings, households": special-group counts as aggregates); the public and other roles without
 * personal data see neither.
 */
const KEY_PERSON_FIELDS = new Set([
  'key_person',
  'key_persons',
  'key_person_type',
  'under_supervision',
  '重点人员',
  '重点人员类别',
  '重点人口',
  '社区矫正人员',
  '刑满释放人员',
  '吸毒人员',
  '在逃人员',
]);

export const RESTRICTED_PERMISSION = 'persons:restricted';

export const isPoliceField = (name: string): boolean => name.startsWith('police_') || name.startsWith('公安') || KEY_PERSON_FIELDS.has(name);

/** The properties without police-sourced fields; `removed` collects the names taken out. */
export function withoutPoliceFields<P extends Record<string, unknown>>(properties: P, removed: Set<string>): P {
  let out: P | null = null;
  for (const name of Object.keys(properties)) {
    if (!isPoliceField(name)) continue;
    out ??= { ...properties };
    delete out[name];
    removed.add(name);
  }
  return out ?? properties;
}

/**
 * Register records (GeoJSON features) as a caller without `persons:restricted` sees them, and the names
 * of the fields taken out (for `X-Masked-Fields`, issue #10 §4: exports say what was masked).
 */
export function restrictRegister<C extends { features: { properties: Record<string, unknown> | null }[] }>(collection: C): { collection: C; masked: string[] } {
  const removed = new Set<string>();
  const features = collection.features.map((f) => (f.properties === null ? f : { ...f, properties: withoutPoliceFields(f.properties, removed) }));
  return { collection: { ...collection, features }, masked: [...removed].sort() };
}
