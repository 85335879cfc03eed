import { gaussKrugerZone } from './gauss-kruger';
import { parseCrs, type CrsId } from './index';

/**
 * The CRS a shapefile's `.prj` (ESRI WKT) declares, among those gridatlas converts: geographic
 * WGS 84 / CGCS2000 (taken as EPSG:4326), or a CGCS2000 Gauss-Krüger zone recognised by an EPSG
 * authority code or by its central meridian and false easting (ESRI WKT usually carries no code).
 *
 * @param prj the WKT text
 * @returns the CRS id, or null when the WKT is something else (the caller asks for an explicit `crs`)
 * @example crsFromPrj('PROJCS["CGCS2000_3_Degree_GK_Zone_39",…PARAMETER["False_Easting",39500000.0],…PARAMETER["Central_Meridian",117.0],…]') // 'EPSG:4527'
 */
export function crsFromPrj(prj: string): CrsId | null {
  const wkt = prj.trim();
  if (/^GEOGCS\[/i.test(wkt)) return 'EPSG:4326';
  if (!/^PROJCS\[/i.test(wkt)) return null;
  const authority = /AUTHORITY\["EPSG",\s*"?(\d+)"?\]\s*\]\s*$/i.exec(wkt);
  if (authority) {
    try {
      return parseCrs(`EPSG:${authority[1]}`);
    } catch {
      return null;
    }
  }
  if (!/Transverse_Mercator|Gauss_Kruger/i.test(wkt)) return null;
  const param = (name: string) => {
    const m = new RegExp(`PARAMETER\\["${name}",\\s*(-?[\\d.]+)\\]`, 'i').exec(wkt);
    return m ? Number(m[1]) : NaN;
  };
  const cm = param('Central_Meridian');
  const fe = param('False_Easting');
  const scale = param('Scale_Factor');
  if (!Number.isFinite(cm) || !Number.isFinite(fe) || (Number.isFinite(scale) && Math.abs(scale - 1) > 1e-9)) return null;
  // Zone width is ambiguous from the parameters alone when unprefixed (CM 117 is both 3° zone 39 and no
  // 6° zone, but CM 111 is 6° zone 19 and 3° zone 37): the name decides, 3° being the survey default.
  const sixDegree = /6_?Degree/i.test(wkt);
  for (let code = 4491; code <= 4554; code++) {
    const z = gaussKrugerZone(code)!;
    if (z.centralMeridian === cm && z.falseEasting === fe && (z.width === 6) === sixDegree) return `EPSG:${code}`;
  }
  for (let code = 4491; code <= 4554; code++) {
    const z = gaussKrugerZone(code)!;
    if (z.centralMeridian === cm && z.falseEasting === fe) return `EPSG:${code}`;
  }
  return null;
}
