import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import classificationFixture from '../../fixtures/incidents/classification.json';
import { Classification } from './classification';
import { OPEN311_STATUS, open311Request, open311Services, parseW3Datetime, reporterName, statusesOf, w3Datetime, type Open311Row } from './open311';
import { escapeXml, xmlDocument } from './open311-xml';
import { STATUSES } from './workflow';

const classification = new Classification(classificationFixture);

describe('status mapping', () => {
  it('maps every internal status, and only cases nobody has to act on any more are closed', () => {
    expect(Object.keys(OPEN311_STATUS).sort()).toEqual([...STATUSES].sort());
    expect(statusesOf('closed').sort()).toEqual(['closed', 'evaluated', 'rejected']);
    expect([...statusesOf('open'), ...statusesOf('closed')].sort()).toEqual([...STATUSES].sort());
  });
});

describe('services', () => {
  it('lists every minor class once, grouped by its major class, in either language', () => {
    const zh = open311Services(classification, 'zh-CN');
    const minors = classification.doc.classes.flatMap((c) => c.minor);
    expect(zh.map((s) => s.service_code)).toEqual(minors.map((m) => m.code));
    expect(zh[0]).toEqual({ service_code: '0101', service_name: '暴露垃圾', description: '市容环境 / 暴露垃圾', metadata: false, type: 'realtime', keywords: 'Exposed refuse, City appearance and environment', group: '市容环境' });
    expect(open311Services(classification, 'en')[0]).toMatchObject({ service_name: 'Exposed refuse', group: 'City appearance and environment', keywords: '暴露垃圾, 市容环境' });
  });
});

describe('service request', () => {
  const row: Open311Row = {
    caseNo: 'Q1A1-20261203-0001',
    status: 'fed_back',
    statusNote: '已清理',
    category: '0101',
    description: '垃圾',
    agency: '社区Q1A',
    reportedAt: new Date('2026-12-03T01:00:00Z'),
    updatedAt: new Date('2026-12-03T02:00:00Z'),
    dueAt: new Date('2026-12-03T03:00:00Z'),
    lon: 104.1,
    lat: 30.7,
    addressId: null,
    addressString: null,
    registerAddress: '人民路 1号',
    mediaUrl: null,
    unitPath: ['Q', 'Q1', 'Q1A', 'Q1A1'],
  };

  it('carries the deadline as expected_datetime only while the case is open, in Beijing time', () => {
    const open = open311Request(row, classification, 'zh-CN');
    expect(open).toMatchObject({ status: 'open', expected_datetime: '2026-12-03T11:00:00+08:00', requested_datetime: '2026-12-03T09:00:00+08:00', address: '人民路 1号', long: 104.1 });
    expect(open311Request({ ...row, status: 'closed' }, classification, 'en')).toMatchObject({ status: 'closed', expected_datetime: null, service_name: 'Exposed refuse' });
  });
});

describe('W3C date-times', () => {
  it.each([
    ['2026-12-03T09:30:00+08:00', '2026-12-03T01:30:00.000Z'],
    ['2026-12-03T01:30:00Z', '2026-12-03T01:30:00.000Z'],
    ['2026-12-03T01:30Z', '2026-12-03T01:30:00.000Z'],
    ['2026-12-03T01:30:00.5-05:00', '2026-12-03T06:30:00.500Z'],
    ['2026-12-03', '2026-12-02T16:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseW3Datetime(text)?.toISOString()).toBe(iso);
  });

  it.each(['2026-12-03T09:30:00', '2026-02-30', '03/12/2026', '2026-12-03 09:30:00Z', 'yesterday', ''])('refuses %s', (text) => {
    expect(parseW3Datetime(text)).toBeNull();
  });

  it('writes what it reads', () => {
    fc.assert(fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), (d) => {
      const text = w3Datetime(d);
      expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
      expect(+parseW3Datetime(text)!).toBe(Math.floor(+d / 1000) * 1000);
    }));
  });
});

describe('reporter name', () => {
  it.each([
    ['小明', '王', '王小明'],
    ['Ann', 'Lee', 'Ann Lee'],
    [undefined, '王', '王'],
    [' ', undefined, undefined],
  ])('%s + %s → %s', (first, last, name) => {
    expect(reporterName(first, last)).toBe(name);
  });
});

describe('XML writer', () => {
  const parser = new XMLParser({ parseTagValue: false, trimValues: false, isArray: (name) => name === 'service' || name === 'error' });

  it('writes a document a real parser reads back, lists as repeated elements and null as empty', () => {
    const xml = xmlDocument('services', [{ service_code: '0101', metadata: false, group: null }, { service_code: '0102', metadata: true, group: 'a' }], { services: 'service' });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<services>')).toBe(true);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(parser.parse(xml).services.service).toEqual([
      { service_code: '0101', metadata: 'false', group: '' },
      { service_code: '0102', metadata: 'true', group: 'a' },
    ]);
  });

  it('escapes markup and drops characters XML 1.0 cannot carry, for any text', () => {
    expect(escapeXml(`<a href="x">&'</a>\u0000\u0007\uFFFE ok`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt; ok');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const xml = xmlDocument('errors', [{ code: 400, description: text }], { errors: 'error' });
        expect(XMLValidator.validate(xml)).toBe(true);
        const kept = text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replace(/\r\n?/g, '\n');
        expect(parser.parse(xml).errors.error[0].description ?? '').toBe(kept);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an element name that is not an XML name', () => {
    expect(() => xmlDocument('a b', 1, {})).toThrow(RangeError);
    expect(() => xmlDocument('list', [1], {})).toThrow(/no item element name/);
  });
});
