import type { Feature, FeatureCollection } from 'geojson';
import type { PartitionReport } from './types';

/**
 * The report's issues as GeoJSON features for a map: one feature per issue that has a place, with the
 * issue's fields as properties; `index` points back into `report.issues`. Issues without a geometry
 * (an empty grid, a failed overlay) cannot be drawn and are left out.
 *
 * @param report a report from `validatePartition`
 * @returns a FeatureCollection with problems only (no valid grids)
 * @example
 * fs.writeFileSync('issues.geojson', JSON.stringify(reportToGeoJSON(report)));
 */
export function reportToGeoJSON(report: PartitionReport): FeatureCollection {
  const features: Feature[] = [];
  report.issues.forEach((issue, index) => {
    if (!issue.geometry) return;
    const { kind, system, parent, grids, area_m2, reason, depth } = issue;
    const properties = { index, kind, system, parent, grids, area_m2, reason, ...(depth === undefined ? {} : { depth }) };
    features.push({ type: 'Feature', geometry: issue.geometry, properties });
  });
  return { type: 'FeatureCollection', features };
}
