// The grid board view of the map page (issue #17 item 4, issue #12 "counts per grid"): with the toggle on,
// the current system's grids in view are coloured by their open and overdue cases, and a grid's card shows
// its households, people, open/overdue/closed cases and, for bank grids, the filing rate. Counts come from
// GET /api/systems/{system}/grid-counts, filtered by the caller's scope on the server.

const STRINGS = {
  'zh-CN': {
    board: '网格看板',
    overdue: '有逾期案件',
    open: '有未结案件',
    calm: '无未结案件',
    note: '按视野内网格统计',
    truncated: '网格过多，仅部分统计',
    failed: '网格看板读取失败',
    open_count: '未结案件',
    overdue_count: '逾期案件',
    closed_count: '已结案件',
    households: '户数',
    population: '人口',
    filing: '建档面',
  },
  en: {
    board: 'Grid board',
    overdue: 'overdue cases',
    open: 'open cases',
    calm: 'no open case',
    note: 'grids in view',
    truncated: 'too many grids: only some counted',
    failed: 'could not load the grid board',
    open_count: 'Open cases',
    overdue_count: 'Overdue cases',
    closed_count: 'Closed cases',
    households: 'Households',
    population: 'Population',
    filing: 'Filing rate',
  },
};

export const BOARD_COLORS = { overdue: '#d32f2f', open: '#fb8c00', calm: '#43a047' };

/** The board over `map`; `ui` holds the page's legendItem, legendHeading, setStatus and renderLegend. */
export function createGridBoard(map, lang, ui) {
  const T = STRINGS[lang];
  const state = { on: false, system: null, counts: new Map(), truncated: false, original: new Map() };
  let ticket = 0;

  /** The current system's fill layers, and their paint as the style drew them (restored when the board is off). */
  function fills() {
    if (!state.system) return [];
    return state.system.levels.map((l) => `${l.layer}:fill`).filter((id) => map.getLayer(id));
  }

  async function load() {
    const system = state.system;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
    const mine = ++ticket;
    const res = await fetch(`/api/systems/${encodeURIComponent(system.key)}/grid-counts?bbox=${bbox}`);
    if (mine !== ticket || !state.on) return;
    if (!res.ok) {
      ui.setStatus(`${T.failed} (${res.status})`);
      return;
    }
    const body = await res.json();
    state.counts = new Map(body.grids.map((g) => [g.code, g]));
    state.truncated = body.truncated;
    paint();
    ui.renderLegend();
  }

  /** Grids coloured by class; a grid the answer does not hold (outside scope) keeps its level colour. */
  function paint() {
    const classes = { overdue: [], open: [], calm: [] };
    for (const [code, g] of state.counts) classes[g.incidents.overdue > 0 ? 'overdue' : g.incidents.open > 0 ? 'open' : 'calm'].push(code);
    // Only the finest level drawn at this zoom is coloured; coarser fills fade out so colours do not stack.
    const zoom = map.getZoom();
    const finest = state.system ? [...state.system.levels].reverse().find((l) => l.minzoom <= zoom) : null;
    for (const id of fills()) {
      if (!state.original.has(id)) state.original.set(id, { color: map.getPaintProperty(id, 'fill-color'), opacity: map.getPaintProperty(id, 'fill-opacity') });
      const { color, opacity } = state.original.get(id);
      if (!state.on) {
        map.setPaintProperty(id, 'fill-color', color);
        map.setPaintProperty(id, 'fill-opacity', opacity);
        continue;
      }
      if (id !== `${finest?.layer}:fill`) {
        map.setPaintProperty(id, 'fill-opacity', 0);
        continue;
      }
      const arms = Object.entries(classes).flatMap(([k, codes]) => (codes.length ? [codes, BOARD_COLORS[k]] : []));
      map.setPaintProperty(id, 'fill-color', arms.length ? ['match', ['get', 'code'], ...arms, color] : color);
      map.setPaintProperty(id, 'fill-opacity', ['case', ['boolean', ['feature-state', 'selected'], false], 0.6, ['in', ['get', 'code'], ['literal', [...state.counts.keys()]]], 0.4, 0.08]);
    }
  }

  let moving = null;
  map.on('moveend', () => {
    if (!state.on) return;
    clearTimeout(moving);
    moving = setTimeout(load, 150);
  });

  return {
    state,
    /** Called when the page switches system. */
    setSystem(system) {
      const wasOn = state.on;
      if (wasOn) this.toggle(false);
      state.system = system;
      state.original.clear();
      if (wasOn) this.toggle(true);
    },
    toggle(on) {
      state.on = on;
      state.counts = new Map();
      paint();
      ui.renderLegend();
      if (on && state.system) return load();
    },
    legend() {
      if (!state.on) return [];
      const list = document.createElement('ul');
      list.id = 'legend-board';
      const tally = { overdue: 0, open: 0, calm: 0 };
      for (const g of state.counts.values()) tally[g.incidents.overdue > 0 ? 'overdue' : g.incidents.open > 0 ? 'open' : 'calm']++;
      for (const [k, color] of Object.entries(BOARD_COLORS)) {
        const item = ui.legendItem('swatch', color, T[k], String(tally[k]));
        item.dataset.board = k;
        list.append(item);
      }
      return [ui.legendHeading(T.board, state.truncated ? T.truncated : T.note), list];
    },
    /** Card rows for a grid, when the board holds its counts. */
    rows(code) {
      const g = state.on ? state.counts.get(code) : undefined;
      if (!g) return [];
      const n = (v) => v.toLocaleString(lang);
      const rows = [
        ['households', n(g.households), T.households],
        ['population', n(g.population), T.population],
        ['open', n(g.incidents.open), T.open_count],
        ['overdue', n(g.incidents.overdue), T.overdue_count],
        ['closed', n(g.incidents.closed), T.closed_count],
      ];
      if (g.filing) rows.push(['filing', g.filing.rate === null ? '—' : `${(g.filing.rate * 100).toFixed(1)}%（${n(g.filing.filed)} / ${n(g.filing.total)}）`, T.filing]);
      return rows;
    },
    label: T.board,
  };
}
