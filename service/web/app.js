// The map page: every grid system of /style.json with a switcher, a legend and a card for a clicked grid.
// Plain ES module run as served (no build step); MapLibre GL comes from the service itself.
import { Map as MapLibreMap, NavigationControl, ScaleControl } from '/vendor/maplibre-gl/maplibre-gl.mjs';

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
  },
};
const lang = document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
const T = STRINGS[lang];
// Chinese glyphs are drawn from local fonts (the style has no glyph server); the same list as the labels' text-font.
const CJK_FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

const $ = (id) => document.getElementById(id);
const status = $('status');
const state = { map: null, systems: [], current: null, selected: null, errors: [], ready: false };
window.gridatlas = state;

const style = await (await fetch('/style.json')).json();
state.systems = style.metadata.gridatlas.systems;
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

map.on('load', () => {
  const wanted = new URLSearchParams(location.search).get('system');
  showSystem(state.systems.some((s) => s.key === wanted) ? wanted : state.systems[0]?.key);
  state.ready = true;
});
map.on('zoomend', renderLegend);
map.on('click', onClick);
map.on('mousemove', (e) => {
  map.getCanvas().style.cursor = state.current && hitAt(e.point) ? 'pointer' : '';
});

function showSystem(key) {
  state.current = state.systems.find((s) => s.key === key) ?? null;
  select.value = key ?? '';
  for (const layer of map.getStyle().layers) {
    const source = layer.metadata?.['gridatlas:source'];
    if (source) map.setLayoutProperty(layer.id, 'visibility', source === state.current?.source ? 'visible' : 'none');
  }
  choose(null);
  renderLegend();
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
    const item = document.createElement('li');
    item.dataset.level = level.key;
    if (map.getZoom() < level.minzoom) item.classList.add('hidden-at-zoom');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.borderColor = s.colors[i];
    swatch.style.background = `${s.colors[i]}22`;
    const name = document.createElement('span');
    name.textContent = level.name;
    const zoom = document.createElement('span');
    zoom.className = 'zoom';
    zoom.textContent = T.fromZoom(level.minzoom);
    item.append(swatch, name, zoom);
    list.append(item);
  });
  legend.append(title, list);
}

/** The grid of the finest level drawn under a point of the current system, if any. */
function hitAt(point) {
  const s = state.current;
  const layers = s.levels.map((l) => `${l.layer}:fill`).filter((id) => map.getLayer(id));
  const order = new Map(s.levels.map((l) => [l.layer, l.order]));
  const hits = map.queryRenderedFeatures(point, { layers });
  return hits.sort((a, b) => order.get(b.sourceLayer) - order.get(a.sourceLayer))[0] ?? null;
}

async function onClick(e) {
  if (!state.current) return;
  const hit = hitAt(e.point);
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
  renderCard(p, rows);
  try {
    const res = await fetch(`/api/systems/${encodeURIComponent(s.key)}/grids/${encodeURIComponent(p.code)}`);
    if (!res.ok) throw new Error(String(res.status));
    const grid = (await res.json()).properties;
    if (state.selected?.properties.code !== p.code) return;
    const responsible = (grid.people ?? []).find((person) => person.role === 'responsible');
    if (responsible) rows.push(['responsible', [responsible.name, responsible.title].filter(Boolean).join(' · ')], ['phone', responsible.phone ?? '']);
    if (typeof grid.households === 'number') rows.push(['households', grid.households.toLocaleString(lang)]);
    if (typeof grid.population === 'number') rows.push(['population', grid.population.toLocaleString(lang)]);
    renderCard(p, rows);
  } catch (err) {
    status.textContent = `${T.loadFailed} (${err.message})`;
  }
}

function choose(feature) {
  if (state.selected) map.setFeatureState(state.selected, { selected: false });
  state.selected = feature ? { source: feature.source, sourceLayer: feature.sourceLayer, id: feature.id, properties: feature.properties } : null;
  if (state.selected) map.setFeatureState(state.selected, { selected: true });
  else $('card').hidden = true;
}

function renderCard(p, rows) {
  const card = $('card');
  const title = document.createElement('h2');
  title.textContent = `${p.name}（${p.code}）`;
  const list = document.createElement('dl');
  for (const [field, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = T[field];
    const dd = document.createElement('dd');
    dd.textContent = value;
    dd.dataset.field = field;
    list.append(dt, dd);
  }
  card.replaceChildren(title, list);
  card.dataset.code = p.code;
  card.hidden = false;
}
