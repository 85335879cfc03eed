import { describe, expect, it } from 'vitest';
import { crsFromPrj } from './prj';

const gk = (name: string, fe: number, cm: number) =>
  `PROJCS["${name}",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",${fe}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",${cm}],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`;

describe('crsFromPrj', () => {
  it.each([
    ['GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]', 'EPSG:4326'],
    ['GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]]', 'EPSG:4326'],
    [gk('CGCS2000_3_Degree_GK_Zone_39', 39500000.0, 117.0), 'EPSG:4527'],
    [gk('CGCS2000_3_Degree_GK_CM_117E', 500000.0, 117.0), 'EPSG:4548'],
    [gk('CGCS2000_3_Degree_GK_CM_111E', 500000.0, 111.0), 'EPSG:4546'],
    [gk('CGCS2000_6_Degree_GK_CM_111E', 500000.0, 111.0), 'EPSG:4508'],
    [gk('CGCS2000_GK_Zone_19', 19500000.0, 111.0), 'EPSG:4497'],
    ['PROJCS["CGCS2000 / 3-degree Gauss-Kruger zone 38",GEOGCS["China Geodetic Coordinate System 2000"],PROJECTION["Transverse_Mercator"],AUTHORITY["EPSG","4526"]]', 'EPSG:4526'],
  ])('%#: reads %s', (prj, expected) => {
    expect(crsFromPrj(prj)).toBe(expected);
  });

  it('returns null for what it does not convert', () => {
    expect(crsFromPrj('PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984"],PROJECTION["Mercator_Auxiliary_Sphere"]]')).toBeNull();
    expect(crsFromPrj(gk('Xian_1980_3_Degree_GK_Zone_39', 39500000.0, 117.5))).toBeNull();
    expect(crsFromPrj('nonsense')).toBeNull();
  });
});
