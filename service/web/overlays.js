// Cross-system overlay faces on the map page (issue #13): a toggle for the faces tile layer of a stored
// overlay (`overlays.{id}`, source-layer `overlay_faces`), coloured by depth — blank red, one system green,
// two blue, three or more purple — with excess under the overlay's policy in orange, and a legend.
// Loaded beside app.js as its own module: it only adds a source, two layers and a legend section.

const STRINGS = {
  'zh-CN': {
    toggle: '覆盖分析',
    title: '覆盖分析（各体系叠加）',
    blank: '空白：无网格覆盖',
    one: '一个体系覆盖',
    two: '两个体系重叠',
    three: '三个及以上重叠',
    excess: '超出重叠政策',
    choose: '叠加结果',
  },
  en: {
    toggle: 'Overlay',
    title: 'Overlay of grid systems',
    blank: 'Blank: no grid',
    one: 'One system',
    two: 'Two systems overlap',
    three: 'Three or more overlap',
    excess: 'Beyond the overlap policy',
    choose: 'Stored overlay',
  },
};

/** Face colours by depth; excess is drawn in orange over whatever depth it has. */
export const COLORS = { blank: '#d7301f', one: '#1a9850', two: '#4575b4', three: '#762a83', excess: '#f46d43' };
const SOURCE = 'overlay-faces';
const LAYERS = [`${SOURCE}:fill`, `${SOURCE}:line`];

const lang = document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
const T = STRINGS[lang];
const state = { ready: false, source: null, layers: LAYERS, shown: false };
window.gridatlasOverlay = state;

// app.js publishes its map on window.gridatlas and sets `ready` once the map has loaded.
while (!window.gridatlas?.ready) await new Promise((r) => setTimeout(r, 50));
const { map } = window.gridatlas;
const catalog = await fetch('/tiles').then((r) => (r.ok ? r.json() : { tiles: [] }));
const sources = catalog.tiles.filter((s) => s.kind === 'overlays');
const wanted = new URLSearchParams(location.search).get('overlay');
state.source = sources.find((s) => s.id === `overlays.${wanted}`) ?? sources[0] ?? null;

const item = document.getElementById('show-overlay-faces-item');
const box = document.getElementById('show-overlay-faces');
document.getElementById('show-overlay-faces-label').textContent = T.toggle;
if (state.source) {
  item.hidden = false;
  box.checked = wanted !== null;
  map.addSource(SOURCE, { type: 'vector', url: state.source.tilejson });
  const color = ['case', ['get', 'excess'], COLORS.excess, ['==', ['get', 'depth'], 0], COLORS.blank, ['==', ['get', 'depth'], 1], COLORS.one, ['==', ['get', 'depth'], 2], COLORS.two, COLORS.three];
  map.addLayer({ id: LAYERS[0], type: 'fill', source: SOURCE, 'source-layer': 'overlay_faces', layout: { visibility: 'none' }, paint: { 'fill-color': color, 'fill-opacity': 0.55 } });
  map.addLayer({
    id: LAYERS[1],
    type: 'line',
    source: SOURCE,
    'source-layer': 'overlay_faces',
    layout: { visibility: 'none' },
    paint: { 'line-color': ['case', ['get', 'excess'], COLORS.excess, '#555'], 'line-width': ['case', ['get', 'excess'], 2.5, 0.6] },
  });
  box.addEventListener('change', () => show(box.checked));
  show(box.checked);
}
state.ready = true;

function show(on) {
  state.shown = on;
  for (const id of LAYERS) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  renderLegend();
}

function renderLegend() {
  document.getElementById('legend-overlay')?.remove();
  if (!state.shown) return;
  const section = document.createElement('section');
  section.id = 'legend-overlay';
  const title = document.createElement('h3');
  title.textContent = T.title;
  const list = document.createElement('ul');
  list.style.cssText = 'list-style: none; margin: 4px 0; padding: 0';
  for (const key of ['blank', 'one', 'two', 'three', 'excess']) {
    const li = document.createElement('li');
    li.dataset.depth = key;
    li.style.cssText = 'display: flex; align-items: center; gap: 6px; margin: 3px 0';
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = COLORS[key];
    swatch.style.borderColor = COLORS[key];
    li.append(swatch, T[key]);
    list.append(li);
  }
  section.append(title, list);
  document.getElementById('legend').after(section);
}
