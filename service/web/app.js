// The map page: every grid system of /style.json with a switcher, its partition problems and the
// addresses as overlays with toggles, the incidents (incidents.js) and the grid board (board.js), a legend,
// and a card for a clicked grid, problem, address or case.
// Plain ES module run as served (no build step); MapLibre GL comes from the service itself.
import { Map as MapLibreMap, NavigationControl, ScaleControl } from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { createGridBoard } from '/web/board.js';
import { createIncidentLayer } from '/web/incidents.js';

const STRINGS = {
  'zh-CN': {
    system: '网格体系',
    legend: '图例',
    fromZoom: (z) => `缩放 ≥ ${z}`,
    code: '编码',
    name: '名称',
    level: '层级',
    parent: '上级网格',
    responsible: '网格长',
    phone: '电话',
    households: '户数',
    population: '人口',
    none: '无',
    noSystems: '还没有网格体系：请先导入网格。',
    loadFailed: '网格详情读取失败',
    problems: '网格问题',
    problemTitle: (kind) => `问题：${kind}`,
    listSeparator: '、',
    stale: '报告已过期，请重新校验',
    checkedAt: (time) => `校验于 ${time}`,
    kind: '类型',
    area: '面积',
    grids: '涉及网格',
    reason: '原因',
    addresses: '地址',
    address: '地址',
    cluster: '地址聚合',
    clusterNote: '数字为地址数',
    pointsFrom: (z) => `缩放 ≥ ${z} 逐个显示`,
    count: '地址数',
    door: '门牌',
    addressKind: '类别',
    grid: '所属网格',
    problemKinds: {
      gap: '缺口',
      sliver: '狭缝',
      overlap: '重叠',
      outside: '越界',
      invalid: '无效几何',
      'edge-mismatch': '边界不一致',
      orphan: '上级缺失',
      level: '层级错误',
      code: '编码不符',
      'duplicate-code': '编码重复',
      empty: '空几何',
    },
    addressKinds: { residential: '住宅', business: '商户', organisation: '单位', public: '公共设施' },
    username: '用户名',
    password: '密码',
    login: '登录',
    logout: '退出登录',
    loginFailed: '登录失败',
    signedInAs: (name) => `当前用户：${name}`,
  },
  en: {
    system: 'Grid system',
    legend: 'Legend',
    fromZoom: (z) => `from zoom ${z}`,
    code: 'Code',
    name: 'Name',
    level: 'Level',
    parent: 'Parent grid',
    responsible: 'Responsible',
    phone: 'Phone',
    households: 'Households',
    population: 'Population',
    none: 'none',
    noSystems: 'No grid system yet: import grids first.',
    loadFailed: 'could not load the grid details',
    problems: 'Partition problems',
    problemTitle: (kind) => `Problem: ${kind}`,
    listSeparator: ', ',
    stale: 'the report is stale: validate again',
    checkedAt: (time) => `checked ${time}`,
    kind: 'Kind',
    area: 'Area',
    grids: 'Grids',
    reason: 'Reason',
    addresses: 'Addresses',
    address: 'Address',
    cluster: 'Address cluster',
    clusterNote: 'the number is the address count',
    pointsFrom: (z) => `one by one from zoom ${z}`,
    count: 'Addresses',
    door: 'Door',
    addressKind: 'Kind',
    grid: 'Grid',
    problemKinds: {
      gap: 'gap',
      sliver: 'sliver',
      overlap: 'overlap',
      outside: 'outside the parent',
      invalid: 'invalid geometry',
      'edge-mismatch': 'edge mismatch',
      orphan: 'missing parent',
      level: 'wrong level',
      code: 'code mismatch',
      'duplicate-code': 'duplicate code',
      empty: 'empty geometry',
    },
    addressKinds: { residential: 'residential', business: 'business', organisation: 'organisation', public: 'public' },
    username: 'User name',
    password: 'Password',
    login: 'Sign in',
    logout: 'Sign out',
    loginFailed: 'Sign-in failed',
    signedInAs: (name) => `Signed in as ${name}`,
  },
};
const lang = document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
const T = STRINGS[lang];
// Chinese glyphs are drawn from local fonts (the style has no glyph server); the same list as the labels' text-font.
const CJK_FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

const $ = (id) => document.getElementById(id);
const status = $('status');
const state = { map: null, systems: [], addresses: null, current: null, selected: null, show: { problems: true, addresses: true }, incidents: null, board: null, errors: [], ready: false };
window.gridatlas = state;

// Signing in (issue #10): the HttpOnly session cookie carries the account on every request of the page
// (tiles included); after a change the page reloads and draws what the account may see.
$('login-user').placeholder = T.username;
$('login-pass').placeholder = T.password;
$('login-submit').textContent = T.login;
$('logout').textContent = T.logout;
const me = await (await fetch('/api/auth/me')).json();
state.user = me.user;
if (me.user) {
  $('account-name').textContent = T.signedInAs(me.user.username);
  $('account').hidden = false;
} else {
  $('login').hidden = false;
}
$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: $('login-user').value, password: $('login-pass').value }),
  });
  if (res.ok) return location.reload();
  const body = await res.json().catch(() => null);
  status.textContent = body?.error?.message ? `${T.loginFailed}: ${body.error.message}` : T.loginFailed;
});
$('logout').addEventListener('click', async () => {
  // Writes with the session cookie echo the CSRF token the server set beside it.
  const csrf = document.cookie.split('; ').find((c) => c.startsWith('gridatlas_csrf='))?.slice('gridatlas_csrf='.length) ?? '';
  await fetch('/api/auth/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } });
  location.reload();
});

const style = await (await fetch('/style.json')).json();
state.systems = style.metadata.gridatlas.systems;
state.addresses = style.metadata.gridatlas.addresses;
const map = new MapLibreMap({ container: 'map', style, localIdeographFontFamily: CJK_FONTS, hash: true, attributionControl: false });
state.map = map;
map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
map.on('error', (e) => {
  const message = e.error?.message ?? String(e.error);
  state.errors.push(message);
  status.textContent = message;
});

$('system-label').textContent = T.system;
const select = $('system');
for (const s of state.systems) select.add(new Option(s.name, s.key));
select.addEventListener('change', () => showSystem(select.value));
if (state.systems.length === 0) status.textContent = T.noSystems;
for (const overlay of ['problems', 'addresses']) {
  $(`show-${overlay}-label`).textContent = T[overlay];
  $(`show-${overlay}`).addEventListener('change', (e) => {
    state.show[overlay] = e.target.checked;
    choose(null);
    applyVisibility();
    renderLegend();
  });
}

// What the feature modules use of the page.
const ui = { renderCard, legendItem, legendHeading, renderLegend, choose, setStatus: (message) => (status.textContent = message) };
state.board = createGridBoard(map, lang, ui);
$('show-board-label').textContent = state.board.label;
// Counts need an account (boards:read): the public sees boards, not the board view.
$('show-board-item').hidden = !state.user;
$('show-board').addEventListener('change', (e) => {
  choose(null);
  state.board.toggle(e.target.checked);
});

map.on('load', async () => {
  const wanted = new URLSearchParams(location.search).get('system');
  showSystem(state.systems.some((s) => s.key === wanted) ? wanted : state.systems[0]?.key);
  try {
    state.incidents = await createIncidentLayer(map, lang, ui);
    state.incidents?.form($('incidents'));
  } catch (err) {
    state.errors.push(err.message);
    status.textContent = err.message;
  }
  renderLegend();
  state.ready = true;
});
map.on('zoomend', renderLegend);
map.on('click', onClick);
map.on('mousemove', (e) => {
  const hit = state.current && (state.incidents?.at(e.point) || overlayAt(e.point, 'problems') || overlayAt(e.point, 'addresses') || gridAt(e.point));
  map.getCanvas().style.cursor = hit ? 'pointer' : '';
});

function showSystem(key) {
  state.current = state.systems.find((s) => s.key === key) ?? null;
  select.value = key ?? '';
  $('show-problems-item').hidden = !state.current?.problems;
  $('show-addresses-item').hidden = !state.addresses;
  state.board?.setSystem(state.current);
  choose(null);
  applyVisibility();
  renderLegend();
}

/** The current system's grids, its problems and the addresses, each overlay as its toggle says. */
function applyVisibility() {
  for (const layer of map.getStyle().layers) {
    const source = layer.metadata?.['gridatlas:source'];
    if (!source) continue;
    const overlay = layer.metadata['gridatlas:overlay'];
    const visible =
      overlay === 'problems' ? state.show.problems && source === state.current?.problems?.source : overlay === 'addresses' ? state.show.addresses : source === state.current?.source;
    map.setLayoutProperty(layer.id, 'visibility', visible ? 'visible' : 'none');
  }
}

function renderLegend() {
  const legend = $('legend');
  legend.replaceChildren();
  const s = state.current;
  if (!s) return;
  const title = document.createElement('h2');
  title.textContent = T.legend;
  title.style.fontSize = '13px';
  const list = document.createElement('ul');
  s.levels.forEach((level, i) => {
    const item = legendItem('swatch', s.colors[i], level.name, T.fromZoom(level.minzoom));
    item.dataset.level = level.key;
    if (map.getZoom() < level.minzoom) item.classList.add('hidden-at-zoom');
    list.append(item);
  });
  legend.append(title, list);
  if (s.problems && state.show.problems) {
    const problems = document.createElement('ul');
    problems.id = 'legend-problems';
    for (const { kind, color, count } of s.problems.kinds) {
      const item = legendItem(kind === 'invalid' ? 'dot' : 'swatch', color, T.problemKinds[kind] ?? kind, String(count));
      item.dataset.kind = kind;
      problems.append(item);
    }
    const checked = new Date(s.problems.generatedAt).toLocaleString(lang, { dateStyle: 'short', timeStyle: 'short' });
    legend.append(legendHeading(T.problems, s.problems.stale ? T.stale : T.checkedAt(checked)), problems);
  }
  if (state.addresses && state.show.addresses) {
    const addresses = document.createElement('ul');
    addresses.id = 'legend-addresses';
    addresses.append(legendItem('bubble', state.addresses.clusterColor, T.cluster, T.clusterNote));
    for (const { kind, color } of state.addresses.kinds) {
      const item = legendItem('dot', color, T.addressKinds[kind] ?? kind, '');
      item.dataset.kind = kind;
      if (map.getZoom() < state.addresses.pointMinzoom) item.classList.add('hidden-at-zoom');
      addresses.append(item);
    }
    legend.append(legendHeading(T.addresses, T.pointsFrom(state.addresses.pointMinzoom)), addresses);
  }
  if (state.incidents) legend.append(...state.incidents.legend());
  if (state.board) legend.append(...state.board.legend());
}

function legendHeading(text, note) {
  const heading = document.createElement('h3');
  heading.textContent = text;
  if (note) {
    const small = document.createElement('span');
    small.className = 'note';
    small.textContent = note;
    heading.append(small);
  }
  return heading;
}

/** A legend line: a swatch (area), dot (point), ring (card) or bubble (cluster) in `color`, a name and a note on the right. */
function legendItem(shape, color, text, note) {
  const item = document.createElement('li');
  const swatch = document.createElement('span');
  swatch.className = shape;
  if (shape === 'swatch') {
    swatch.style.borderColor = color;
    swatch.style.background = `${color}22`;
  } else if (shape === 'ring') {
    swatch.style.borderColor = color;
  } else {
    swatch.style.background = color;
  }
  const name = document.createElement('span');
  name.textContent = text;
  const right = document.createElement('span');
  right.className = 'zoom';
  right.textContent = note;
  item.append(swatch, name, right);
  return item;
}

/** The topmost feature of a shown overlay ('problems' of the current system, or 'addresses') under a point. */
function overlayAt(point, overlay) {
  if (!state.show[overlay]) return null;
  const layers = (overlay === 'problems' ? state.current.problems?.layers : state.addresses?.layers) ?? [];
  return map.queryRenderedFeatures(point, { layers: layers.filter((id) => map.getLayer(id)) })[0] ?? null;
}

/** The grid of the finest level drawn under a point of the current system, if any. */
function gridAt(point) {
  const s = state.current;
  const layers = s.levels.map((l) => `${l.layer}:fill`).filter((id) => map.getLayer(id));
  const order = new Map(s.levels.map((l) => [l.layer, l.order]));
  const hits = map.queryRenderedFeatures(point, { layers });
  return hits.sort((a, b) => order.get(b.sourceLayer) - order.get(a.sourceLayer))[0] ?? null;
}

async function onClick(e) {
  if (!state.current) return;
  const incident = state.incidents?.at(e.point);
  if (incident) return state.incidents.open(incident, e.lngLat);
  const problem = overlayAt(e.point, 'problems');
  if (problem) return showProblem(problem);
  const address = overlayAt(e.point, 'addresses');
  if (address) return showAddress(address, e.lngLat);
  const hit = gridAt(e.point);
  choose(hit);
  if (!hit) return;
  const s = state.current;
  const p = hit.properties;
  const level = s.levels.find((l) => l.key === p.level);
  const rows = [
    ['code', p.code],
    ['name', p.name],
    ['level', level?.name ?? p.level],
    ['parent', p.parent ?? T.none],
  ];
  const title = `${p.name}（${p.code}）`;
  const board = state.board.rows(p.code);
  renderCard(title, [...rows, ...board], { code: p.code });
  try {
    const res = await fetch(`/api/systems/${encodeURIComponent(s.key)}/grids/${encodeURIComponent(p.code)}`);
    if (!res.ok) throw new Error(String(res.status));
    const grid = (await res.json()).properties;
    if (state.selected?.properties.code !== p.code) return;
    const responsible = (grid.people ?? []).find((person) => person.role === 'responsible');
    if (responsible) rows.push(['responsible', [responsible.name, responsible.title].filter(Boolean).join(' · ')], ['phone', responsible.phone ?? '']);
    if (typeof grid.households === 'number') rows.push(['households', grid.households.toLocaleString(lang)]);
    if (typeof grid.population === 'number') rows.push(['population', grid.population.toLocaleString(lang)]);
    // The board's counts replace the register's own households and people (the same sums, rolled up).
    renderCard(title, [...(board.length ? rows.filter(([field]) => field !== 'households' && field !== 'population') : rows), ...board], { code: p.code });
  } catch (err) {
    status.textContent = `${T.loadFailed} (${err.message})`;
  }
}

function showProblem(feature) {
  choose(null);
  const p = feature.properties;
  const kind = T.problemKinds[p.kind] ?? p.kind;
  const rows = [
    ['kind', kind],
    ['area', typeof p.area_m2 === 'number' ? `${p.area_m2.toLocaleString(lang, { maximumFractionDigits: 2 })} m²` : T.none],
    ['grids', p.grids ? p.grids.split(',').join(T.listSeparator) : T.none],
    ['parent', p.parent ?? T.none],
    ['reason', p.reason ?? ''],
  ];
  renderCard(T.problemTitle(kind), rows, { problem: String(p.index), kind: p.kind });
}

/** A cluster's sums (and a zoom towards it), or an address with its grid in the current system. */
function showAddress(feature, lngLat) {
  choose(null);
  const p = feature.properties;
  const number = (n) => (typeof n === 'number' ? n.toLocaleString(lang) : T.none);
  if (p.cluster) {
    renderCard(T.cluster, [['count', number(p.point_count)], ['households', number(p.households)], ['population', number(p.population)]], { cluster: String(p.point_count) });
    map.easeTo({ center: lngLat, zoom: Math.min(map.getZoom() + 2, state.addresses.pointMinzoom) });
    return;
  }
  const rows = [
    ['door', [p.street, p.door, p.building].filter(Boolean).join(' ') || T.none],
    ['addressKind', T.addressKinds[p.kind] ?? p.kind ?? T.none],
    ['households', number(p.households)],
    ['population', number(p.population)],
    ['grid', p[`grid.${state.current.key}`] ?? T.none],
  ];
  renderCard(T.address, rows, { address: String(feature.id ?? '') });
}

function choose(feature) {
  if (state.selected) map.setFeatureState(state.selected, { selected: false });
  state.selected = feature ? { source: feature.source, sourceLayer: feature.sourceLayer, id: feature.id, properties: feature.properties } : null;
  if (state.selected) map.setFeatureState(state.selected, { selected: true });
  else $('card').hidden = true;
}

/**
 * Fills the card; `data` says what it shows (code, problem, address, cluster or incident) for tests and
 * styles. A row is [field, value, label?]: the label defaults to the page's own, a value may be a DOM node.
 */
function renderCard(text, rows, data) {
  const card = $('card');
  const title = document.createElement('h2');
  title.textContent = text;
  const list = document.createElement('dl');
  for (const [field, value, label] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = label ?? T[field];
    const dd = document.createElement('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    dd.dataset.field = field;
    list.append(dt, dd);
  }
  card.replaceChildren(title, list);
  for (const key of Object.keys(card.dataset)) delete card.dataset[key];
  Object.assign(card.dataset, data);
  card.hidden = false;
}
