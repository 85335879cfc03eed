import { describe, expect, it } from 'vitest';
import { mapSvg } from './map-svg';
import { rect } from '../test/fixtures';

describe('map as SVG', () => {
  const a = rect(104.0, 30.6, 104.01, 30.61);
  const b = rect(104.01, 30.6, 104.02, 30.61);

  it('fits the focus shapes, draws neighbours grey and labels escaped', () => {
    const svg = mapSvg(
      [
        { geometry: b, role: 'context', label: 'B<1>' },
        { geometry: a, role: 'focus', label: '第1网格' },
      ],
      { width: 800, height: 400, lang: 'zh-CN', padding: 0.1 },
    );
    const paths = [...svg.matchAll(/<path d="([^"]+)" fill="([^"]+)"[^>]*fill-rule/g)];
    expect(paths.map((m) => m[2])).toEqual(['#e4e4e0', '#f6c56b']);
    // In Web Mercator the 0.01° cell is taller than wide (1 / cos 30.6°): its height fills 80% of the map
    // (10% padding each side) and it is centred across.
    const [x0, y0, x1, , , y1] = paths[1]![1]!.match(/[\d.]+/g)!.map(Number);
    expect(Math.abs(y1! - y0!)).toBeCloseTo(320, 0);
    expect((x1! - x0!) / 320).toBeCloseTo(Math.cos((30.605 * Math.PI) / 180), 2);
    expect((x0! + x1!) / 2).toBeCloseTo(400, 0);
    expect(svg).toContain('B&lt;1&gt;');
    expect(svg).toContain('第1网格');
    // 1 km ≈ 290 px here, so the scale bar shows a round length in metres.
    expect(svg).toMatch(/>\d+ 米</);
  });

  it('draws an empty map when there is nothing to show', () => {
    expect(mapSvg([], { width: 100, height: 50, lang: 'en' })).toMatch(/^<svg[^>]*><rect width="100" height="50" fill="#f4f4f4"\/><\/svg>$/);
  });
});
