// The incident layer of the map page (issue #12 item 2): cases styled by status (fill) and card (ring),
// a legend, filters and a case card with the L121 fields. Cases come from the incident tile layer where
// the caller may use it and no filter needs more than the tile carries (status, category, card are in
// the tile: MapLibre filter expressions); otherwise from GET /api/incidents (filtered by the caller's
// scope on the server), drawn as GeoJSON clustered by MapLibre.

const STRINGS = {
  'zh-CN': {
    incidents: '事件',
    show: '显示事件',
    status: '状态',
    category: '类别',
    card: '督办牌',
    source: '来源',
    unit: '单位编码',
    from: '起',
    to: '止',
    all: '全部',
    cluster: '事件聚合',
    clusterNote: '数字为案件数',
    pointsFrom: (z) => `缩放 ≥ ${z} 逐案显示`,
    fromApi: (shown, total) => (shown < total ? `按筛选显示 ${shown} / ${total} 件` : `按筛选显示 ${total} 件`),
    caseTitle: (no, category) => `${no} · ${category}`,
    place: '地点',
    reporter: '报告人',
    time: '时间',
    content: '内容',
    state: '状态',
    deadline: '时限',
    timeLeft: '剩余',
    overdueBy: '已超时',
    evaluation: '评价',
    notEvaluated: '未评价',
    progress: '处置过程',
    photosBefore: '处置前照片',
    photosAfter: '处置后照片',
    none: '无',
    loadFailed: '事件详情读取失败',
    hours: (h, m) => `${h} 小时 ${m} 分`,
    statuses: {
      reported: '已上报',
      registered: '已立案',
      dispatched: '已派遣',
      in_progress: '处置中',
      postponement_requested: '申请延期',
      fed_back: '已反馈',
      closed: '已结案',
      evaluated: '已评价',
      rejected: '不予受理',
    },
    cards: { none: '无', yellow: '黄牌', red: '红牌' },
    sources: { patrol: '巡查', resident: '居民', hotline: '热线', messaging_app: '即时通讯', upper_level: '上级交办', api: '接口' },
    actions: {
      report: '上报',
      register: '立案',
      reject: '不予受理',
      dispatch: '派遣',
      accept: '接收',
      feed_back: '反馈',
      close: '结案',
      return_for_rework: '返工',
      evaluate: '评价',
      escalate: '上报上级',
      hand_to_department: '转职能部门',
      request_postponement: '申请延期',
      approve_postponement: '批准延期',
      deny_postponement: '驳回延期',
      reopen: '重新办理',
      reroute: '改派',
      card_yellow: '黄牌警示',
      card_red: '红牌督办',
    },
  },
  en: {
    incidents: 'Incidents',
    show: 'Show incidents',
    status: 'Status',
    category: 'Category',
    card: 'Card',
    source: 'Source',
    unit: 'Unit code',
    from: 'From',
    to: 'To',
    all: 'all',
    cluster: 'Incident cluster',
    clusterNote: 'the number is the case count',
    pointsFrom: (z) => `one by one from zoom ${z}`,
    fromApi: (shown, total) => (shown < total ? `filtered: ${shown} of ${total} cases shown` : `filtered: ${total} cases`),
    caseTitle: (no, category) => `${no} · ${category}`,
    place: 'Place',
    reporter: 'Reporter',
    time: 'Reported',
    content: 'Content',
    state: 'Status',
    deadline: 'Deadline',
    timeLeft: 'left',
    overdueBy: 'overdue by',
    evaluation: 'Evaluation',
    notEvaluated: 'not evaluated',
    progress: 'Progress',
    photosBefore: 'Photos before',
    photosAfter: 'Photos after',
    none: 'none',
    loadFailed: 'could not load the case',
    hours: (h, m) => `${h} h ${m} min`,
    statuses: {
      reported: 'reported',
      registered: 'registered',
      dispatched: 'dispatched',
      in_progress: 'in progress',
      postponement_requested: 'postponement requested',
      fed_back: 'fed back',
      closed: 'closed',
      evaluated: 'evaluated',
      rejected: 'rejected',
    },
    cards: { none: 'none', yellow: 'yellow', red: 'red' },
    sources: { patrol: 'patrol', resident: 'resident', hotline: 'hotline', messaging_app: 'messaging app', upper_level: 'upper level', api: 'API' },
    actions: {
      report: 'reported',
      register: 'registered',
      reject: 'rejected',
      dispatch: 'dispatched',
      accept: 'accepted',
      feed_back: 'fed back',
      close: 'closed',
      return_for_rework: 'returned for rework',
      evaluate: 'evaluated',
      escalate: 'escalated',
      hand_to_department: 'handed to a department',
      request_postponement: 'postponement requested',
      approve_postponement: 'postponement approved',
      deny_postponement: 'postponement denied',
      reopen: 'reopened',
      reroute: 'rerouted',
      card_yellow: 'yellow card',
      card_red: 'red card',
    },
  },
};

/** Fill by status: blues and greens, so the yellow and red of the cards (the ring) stay unmistakable. */
export const STATUS_COLORS = {
  reported: '#6a1b9a',
  registered: '#3949ab',
  dispatched: '#1e88e5',
  in_progress: '#00897b',
  postponement_requested: '#8d6e63',
  fed_back: '#00acc1',
  closed: '#43a047',
  evaluated: '#2e7d32',
  rejected: '#9e9e9e',
};
const CARD_COLORS = { none: '#ffffff', yellow: '#fbc02d', red: '#d50000' };
const CLUSTER_COLOR = '#5e35b1';
/** The tile layer carries one point per case from this zoom (service/incidents/tiles.ts), clusters below it. */
const POINT_MINZOOM = 14;
const API_LIMIT = 1000;
const OPEN = ['reported', 'registered', 'dispatched', 'in_progress', 'postponement_requested', 'fed_back'];

/**
 * Sets up the layer on a loaded map. `ui` holds the page's helpers: renderCard, legendItem, legendHeading,
 * setStatus, choose. Resolves to null when the caller may see no incident at all.
 */
export async function createIncidentLayer(map, lang, ui) {
  const T = STRINGS[lang];
  const catalog = await fetch('/tiles').then((r) => (r.ok ? r.json() : { tiles: [] }));
  const tiles = catalog.tiles.some((t) => t.id === 'incidents');
  const classification = await fetch('/api/incidents/classification').then((r) => (r.ok ? r.json() : null));
  if (!classification) return null;
  const categoryNames = new Map();
  for (const major of classification.classes) {
    categoryNames.set(major.code, lang === 'en' ? major.nameEn : major.name);
    for (const minor of major.minor) categoryNames.set(minor.code, lang === 'en' ? minor.nameEn : minor.name);
  }

  const state = { visible: true, mode: null, filters: { status: '', category: '', card: '', source: '', unit: '', from: '', to: '' }, shown: null, sources: [] };
  const beforeLabels = map.getStyle().layers.find((l) => l.type === 'symbol')?.id;
  if (tiles) {
    map.addSource('incidents', { type: 'vector', url: `${location.origin}/tiles/incidents.json` });
    addLayers('incidents', { 'source-layer': 'incidents' });
  }
  map.addSource('incidents-api', {
    type: 'geojson',
    data: { type: 'FeatureCollection', features: [] },
    cluster: true,
    clusterMaxZoom: POINT_MINZOOM - 1,
    clusterRadius: 32,
    clusterProperties: { red_count: ['+', ['case', ['==', ['get', 'card'], 'red'], 1, 0]] },
  });
  addLayers('incidents-api', {});

  function addLayers(source, extra) {
    const common = { source, ...extra, metadata: { 'gridatlas:overlay': 'incidents' } };
    const cluster = ['has', 'point_count'];
    const selected = ['boolean', ['feature-state', 'selected'], false];
    map.addLayer(
      {
        id: `${source}:cluster`,
        type: 'circle',
        ...common,
        filter: cluster,
        paint: {
          'circle-color': CLUSTER_COLOR,
          'circle-opacity': 0.85,
          'circle-radius': ['step', ['get', 'point_count'], 9, 10, 11, 100, 13, 1000, 15],
          'circle-stroke-color': ['case', ['>', ['coalesce', ['get', 'red_count'], 0], 0], CARD_COLORS.red, '#ffffff'],
          'circle-stroke-width': ['case', ['>', ['coalesce', ['get', 'red_count'], 0], 0], 2.5, 1.5],
        },
      },
      beforeLabels,
    );
    map.addLayer({
      id: `${source}:count`,
      type: 'symbol',
      ...common,
      filter: cluster,
      layout: { 'text-field': ['to-string', ['get', 'point_count']], 'text-size': 11, 'text-allow-overlap': true, 'text-ignore-placement': true },
      paint: { 'text-color': '#ffffff' },
    });
    map.addLayer(
      {
        id: `${source}:point`,
        type: 'circle',
        ...common,
        filter: ['!', cluster],
        paint: {
          'circle-color': ['match', ['get', 'status'], ...Object.entries(STATUS_COLORS).flat(), '#555555'],
          // The case whose card is open is drawn larger (the page sets the `selected` feature state).
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, ['case', selected, 7, 4], 16, ['case', selected, 11, 7]],
          'circle-stroke-color': ['match', ['get', 'card'], 'yellow', CARD_COLORS.yellow, 'red', CARD_COLORS.red, CARD_COLORS.none],
          'circle-stroke-width': ['match', ['get', 'card'], ['yellow', 'red'], 3, 1.5],
        },
      },
      beforeLabels,
    );
    state.sources.push(source);
  }

  /** The filters the tile carries, as a MapLibre expression over the points. */
  function tileFilter() {
    const f = state.filters;
    const parts = [];
    if (f.status === 'open') parts.push(['in', ['get', 'status'], ['literal', OPEN]]);
    else if (f.status) parts.push(['==', ['get', 'status'], f.status]);
    if (f.category) parts.push(['any', ['==', ['get', 'category'], f.category], ['==', ['get', 'major'], f.category]]);
    if (f.card) parts.push(['==', ['get', 'card'], f.card]);
    return parts;
  }

  /** Tiles while they can answer; the API for filters the tile lacks, and for filtered clusters (a tile's clusters count every case). */
  function wantedMode() {
    const f = state.filters;
    if (!tiles || f.source || f.unit || f.from || f.to) return 'api';
    if (tileFilter().length > 0 && map.getZoom() < POINT_MINZOOM) return 'api';
    return 'tiles';
  }

  let fetched = 0;
  async function loadFromApi() {
    const f = state.filters;
    const b = map.getBounds();
    const q = new URLSearchParams({ bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(','), limit: String(API_LIMIT) });
    if (f.status) q.set('status', f.status === 'open' ? OPEN.join(',') : f.status);
    for (const key of ['category', 'card', 'source', 'unit', 'from', 'to']) if (f[key]) q.set(key, f[key]);
    const ticket = ++fetched;
    const res = await fetch(`/api/incidents?${q}`);
    if (ticket !== fetched) return;
    if (!res.ok) {
      ui.setStatus(`${T.loadFailed} (${res.status})`);
      return;
    }
    const body = await res.json();
    map.getSource('incidents-api').setData({
      type: 'FeatureCollection',
      features: body.items.map((c) => ({
        type: 'Feature',
        id: c.id,
        geometry: { type: 'Point', coordinates: [c.location.lon, c.location.lat] },
        properties: { id: c.id, case_no: c.caseNo, status: c.status, category: c.category.code, major: c.category.major, card: c.card, overdue: c.deadline?.overdue ?? c.wasOverdue, unit: c.unit.code },
      })),
    });
    state.shown = { shown: body.items.length, total: body.total };
    ui.renderLegend();
  }

  function refresh() {
    state.mode = wantedMode();
    for (const source of state.sources) {
      const on = state.visible && (source === 'incidents') === (state.mode === 'tiles');
      for (const kind of ['cluster', 'count', 'point']) map.setLayoutProperty(`${source}:${kind}`, 'visibility', on ? 'visible' : 'none');
    }
    if (tiles) map.setFilter('incidents:point', ['all', ['!', ['has', 'point_count']], ...tileFilter()]);
    if (state.mode === 'api' && state.visible) return loadFromApi();
    state.shown = null;
    ui.renderLegend();
  }

  let moving = null;
  map.on('moveend', () => {
    if (!state.visible) return;
    clearTimeout(moving);
    // The API answers for the viewport: ask again when it moved (or when a zoom changed which source answers).
    moving = setTimeout(() => (state.mode === 'api' || wantedMode() !== state.mode ? refresh() : undefined), 150);
  });

  /** The filter form, in the panel. */
  function form(container) {
    const statusOptions = [['', T.all], ['open', lang === 'en' ? 'open' : '未结案'], ...Object.keys(STATUS_COLORS).map((s) => [s, T.statuses[s]])];
    const categoryOptions = [['', T.all]];
    for (const major of classification.classes) {
      categoryOptions.push([major.code, categoryNames.get(major.code)]);
      for (const minor of major.minor) categoryOptions.push([minor.code, `　${categoryNames.get(minor.code)}`]);
    }
    const fields = [
      ['status', select(statusOptions)],
      ['category', select(categoryOptions)],
      ['card', select([['', T.all], ...Object.entries(T.cards).map(([k, v]) => [k, v])])],
      ['source', select([['', T.all], ...Object.entries(T.sources).map(([k, v]) => [k, v])])],
      ['unit', input('text')],
      ['from', input('date')],
      ['to', input('date')],
    ];
    const show = document.createElement('label');
    const box = input('checkbox');
    box.id = 'show-incidents';
    box.checked = true;
    box.addEventListener('change', () => {
      state.visible = box.checked;
      ui.choose(null);
      refresh();
    });
    show.append(box, ` ${T.show}`);
    const grid = document.createElement('div');
    grid.id = 'incident-filters';
    for (const [key, control] of fields) {
      const label = document.createElement('label');
      label.textContent = T[key];
      control.id = `filter-${key}`;
      control.addEventListener('change', () => {
        state.filters[key] = control.value.trim();
        ui.choose(null);
        refresh();
      });
      grid.append(label, control);
    }
    const heading = document.createElement('h2');
    heading.textContent = T.incidents;
    container.replaceChildren(heading, show, grid);
    container.hidden = false;
  }

  function legend() {
    if (!state.visible) return [];
    const list = document.createElement('ul');
    list.id = 'legend-incidents';
    for (const [status, color] of Object.entries(STATUS_COLORS)) {
      const item = ui.legendItem('dot', color, T.statuses[status], '');
      item.dataset.status = status;
      list.append(item);
    }
    for (const card of ['yellow', 'red']) {
      const item = ui.legendItem('ring', CARD_COLORS[card], T.cards[card], '');
      item.dataset.card = card;
      list.append(item);
    }
    list.append(ui.legendItem('bubble', CLUSTER_COLOR, T.cluster, T.clusterNote));
    const note = state.shown ? T.fromApi(state.shown.shown, state.shown.total) : T.pointsFrom(POINT_MINZOOM);
    return [ui.legendHeading(T.incidents, note), list];
  }

  function layers() {
    return state.visible ? state.sources.flatMap((s) => [`${s}:point`, `${s}:cluster`]).filter((id) => map.getLayoutProperty(id, 'visibility') === 'visible') : [];
  }

  /** The case or cluster under a point, if any. */
  function at(point) {
    const ids = layers();
    return ids.length ? (map.queryRenderedFeatures(point, { layers: ids })[0] ?? null) : null;
  }

  /** A cluster zooms in; a case opens its card. */
  async function open(feature, lngLat) {
    ui.choose(null);
    if (feature.properties.point_count) {
      map.easeTo({ center: lngLat, zoom: Math.min(map.getZoom() + 2, POINT_MINZOOM) });
      return;
    }
    const id = feature.id ?? feature.properties.id;
    ui.choose(feature);
    const res = await fetch(`/api/incidents/${encodeURIComponent(id)}`);
    if (!res.ok) {
      ui.setStatus(`${T.loadFailed} (${res.status})`);
      return;
    }
    showCase(await res.json());
  }

  function showCase({ incident: c, log, photos }) {
    const time = (iso) => (iso ? new Date(iso).toLocaleString(lang, { dateStyle: 'short', timeStyle: 'short' }) : T.none);
    const place = [...c.chain].reverse().map((u) => u.name).join(' / ');
    const reporter = [c.reporter.name, c.reporter.phone].filter(Boolean).join(' · ') || T.none;
    let deadline = T.none;
    if (c.deadline) {
      const ms = Math.abs(c.deadline.leftMs);
      const span = T.hours(Math.floor(ms / 3_600_000), Math.floor((ms % 3_600_000) / 60_000));
      deadline = `${time(c.deadline.due)}（${c.deadline.overdue ? `${T.overdueBy} ${span}` : `${T.timeLeft} ${span}`}）`;
    }
    const evaluation = c.evaluation ? `${'★'.repeat(c.evaluation.score)}${'☆'.repeat(5 - c.evaluation.score)}${c.evaluation.note ? ` ${c.evaluation.note}` : ''}` : T.notEvaluated;
    const rows = [
      ['place', `${place}（${c.location.lon.toFixed(5)}, ${c.location.lat.toFixed(5)}）`, T.place],
      ['reporter', reporter, T.reporter],
      ['time', time(c.times.reportedAt), T.time],
      ['content', c.description, T.content],
      ['status', T.statuses[c.status] ?? c.status, T.state],
      ['card', T.cards[c.card] ?? c.card, T.card],
      ['deadline', deadline, T.deadline],
      ['evaluation', evaluation, T.evaluation],
      ['progress', timeline(log, time), T.progress],
    ];
    for (const stage of ['before', 'after']) {
      const own = photos.filter((p) => p.stage === stage);
      if (own.length) rows.push([`photos-${stage}`, gallery(c.id, own), stage === 'before' ? T.photosBefore : T.photosAfter]);
    }
    ui.renderCard(T.caseTitle(c.caseNo, c.category.name ?? c.category.code), rows, { incident: String(c.id), caseNo: c.caseNo });
  }

  function timeline(log, time) {
    const list = document.createElement('ol');
    list.className = 'timeline';
    for (const entry of log) {
      const item = document.createElement('li');
      item.dataset.action = entry.action;
      const when = document.createElement('time');
      when.dateTime = entry.at;
      when.textContent = time(entry.at);
      const what = document.createElement('span');
      const action = T.actions[entry.action] ?? entry.action;
      what.textContent = [action, entry.actor?.name, entry.note].filter(Boolean).join(' · ');
      item.append(when, what);
      list.append(item);
    }
    return list;
  }

  function gallery(id, photos) {
    const box = document.createElement('div');
    box.className = 'photos';
    for (const p of photos) {
      const img = document.createElement('img');
      img.src = `/api/incidents/${id}/photos/${p.id}`;
      img.alt = p.stage;
      img.dataset.photo = String(p.id);
      box.append(img);
    }
    return box;
  }

  refresh();
  return { form, legend, at, open, refresh, state };
}

function select(options) {
  const s = document.createElement('select');
  for (const [value, text] of options) s.add(new Option(text, value));
  return s;
}

function input(type) {
  const i = document.createElement('input');
  i.type = type;
  return i;
}
