import type { Classification, MinorClass } from './classification';
import { STATUSES, type Status } from './workflow';

/**
 * Open311 GeoReport v2 as a view of the incident model (issue #12): minor classes are services, cases are
 * service requests, the nine internal statuses are the standard's two. Pure: no I/O.
 */

export type Open311Status = 'open' | 'closed';

/**
 * Internal status → GeoReport `status` (README "Open311"). A case is open while someone still has to act
 * on it; rejected (不予立案), closed (结案) and evaluated (评价) cases are closed.
 */
export const OPEN311_STATUS: Readonly<Record<Status, Open311Status>> = {
  reported: 'open',
  registered: 'open',
  rejected: 'closed',
  dispatched: 'open',
  in_progress: 'open',
  postponement_requested: 'open',
  fed_back: 'open',
  closed: 'closed',
  evaluated: 'closed',
};

/** The internal statuses that one GeoReport status stands for (the `status` filter). */
export function statusesOf(status: Open311Status): Status[] {
  return STATUSES.filter((s) => OPEN311_STATUS[s] === status);
}

export type Lang = 'zh-CN' | 'en';

/** A GeoReport service, fields in the standard's order. */
export interface Open311Service {
  service_code: string;
  service_name: string;
  description: string;
  /** true only when the service definition has attributes; no minor class has extra fields yet. */
  metadata: boolean;
  type: 'realtime';
  keywords: string;
  group: string;
}

export interface Open311Attribute {
  variable: boolean;
  code: string;
  datatype: 'string' | 'number' | 'datetime' | 'text' | 'singlevaluelist' | 'multivaluelist';
  required: boolean;
  datatype_description: string;
  order: number;
  description: string;
  values?: { key: string; name: string }[];
}

export interface Open311ServiceDefinition {
  service_code: string;
  attributes: Open311Attribute[];
}

/**
 * The classification's minor classes as services: `group` is the major class, `keywords` carry the other
 * language's name so a client can search in either. `type` is realtime: a POST creates the case at once.
 */
export function open311Services(classification: Classification, lang: Lang): Open311Service[] {
  return classification.doc.classes.flatMap((major) =>
    major.minor.map((minor) => {
      const [name, other] = lang === 'en' ? [minor.nameEn, minor.name] : [minor.name, minor.nameEn];
      const group = lang === 'en' ? major.nameEn : major.name;
      return {
        service_code: minor.code,
        service_name: name,
        description: `${group} / ${name}`,
        metadata: false,
        type: 'realtime' as const,
        keywords: [other, lang === 'en' ? major.name : major.nameEn].join(', '),
        group,
      };
    }),
  );
}

/** The service definition: the class's extra fields as attributes (none in the shipped classification). */
export function open311Definition(minor: MinorClass): Open311ServiceDefinition {
  return { service_code: minor.code, attributes: [] };
}

/** A case as the Open311 queries read it (open311-store.ts); reporter fields are not even selected. */
export interface Open311Row {
  caseNo: string;
  status: Status;
  statusNote: string | null;
  category: string;
  description: string;
  agency: string | null;
  reportedAt: Date;
  updatedAt: Date;
  dueAt: Date | null;
  lon: number;
  lat: number;
  addressId: number | null;
  addressString: string | null;
  registerAddress: string | null;
  mediaUrl: string | null;
  unitPath: string[];
}

/** A GeoReport service request, fields in the standard's order. Reporter contact data has no field here. */
export interface Open311Request {
  service_request_id: string;
  status: Open311Status;
  status_notes: string | null;
  service_name: string;
  service_code: string;
  description: string;
  agency_responsible: string | null;
  service_notice: string | null;
  requested_datetime: string;
  updated_datetime: string;
  /** The current stage's deadline while the case is open. */
  expected_datetime: string | null;
  address: string | null;
  address_id: number | null;
  lat: number;
  long: number;
  media_url: string | null;
}

export function open311Request(row: Open311Row, classification: Classification, lang: Lang): Open311Request {
  const minor = classification.category(row.category);
  const status = OPEN311_STATUS[row.status];
  return {
    service_request_id: row.caseNo,
    status,
    status_notes: row.statusNote,
    service_name: lang === 'en' ? minor.nameEn : minor.name,
    service_code: row.category,
    description: row.description,
    agency_responsible: row.agency,
    service_notice: null,
    requested_datetime: w3Datetime(row.reportedAt),
    updated_datetime: w3Datetime(row.updatedAt),
    expected_datetime: status === 'open' && row.dueAt ? w3Datetime(row.dueAt) : null,
    address: row.addressString ?? row.registerAddress,
    address_id: row.addressId,
    lat: row.lat,
    long: row.lon,
    media_url: row.mediaUrl,
  };
}

/**
 * A W3C date-time (the subset of ISO 8601 GeoReport requires, timezone included) in Beijing time, the
 * service's working time zone: `2026-12-03T09:30:00+08:00`.
 */
export function w3Datetime(at: Date): string {
  return `${new Date(+at + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

const W3 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Parses a W3C date-time as GeoReport's date filters accept it: a date (taken as midnight Beijing time) or
 * a date and time with a timezone (`Z` or `±hh:mm`).
 * @returns the instant, or null when `text` is not a W3C date-time
 */
export function parseW3Datetime(text: string): Date | null {
  const m = W3.exec(text);
  if (!m) return null;
  const d = new Date(m[4] === undefined ? `${text}T00:00:00+08:00` : text);
  if (Number.isNaN(+d)) return null;
  // Date accepts 2026-02-30 and rolls it over; a date that does not exist is not a date.
  const local = m[7] === undefined ? new Date(+d + 8 * 3_600_000) : null;
  if (local && local.toISOString().slice(0, 10) !== text.slice(0, 10)) return null;
  return d;
}

/**
 * A reporter's name from GeoReport's first_name/last_name: Chinese names are written surname first
 * without a space (王 + 小明 → 王小明), others "first last".
 */
export function reporterName(first: string | undefined, last: string | undefined): string | undefined {
  const parts = [first?.trim(), last?.trim()].filter((p): p is string => !!p);
  if (parts.length === 0) return undefined;
  if (parts.length === 2 && parts.every((p) => /^[\p{Script=Han}·]+$/u.test(p))) return `${parts[1]}${parts[0]}`;
  return parts.join(' ');
}
