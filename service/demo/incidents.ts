import type { HistoricalCase, HistoryStep } from '../incidents/history';
import type { ClassificationDoc } from '../incidents/classification';
import type { TimeLimit, WorkingCalendar } from '../incidents/calendar';
import type { Route } from '../incidents/workflow';
import { createRandom, deriveSeed, pick, type Random } from './random';

/** About four reports per governance grid a year (400 grids → ~1,600 cases): enough for every chart, fast to load. */
const CASES_PER_GRID_YEAR = 4;
const HOUR = 3_600_000;
const MINUTE = 60_000;

const SOURCES: [HistoricalCase['source'], number][] = [
  ['patrol', 0.55],
  ['resident', 0.15],
  ['hotline', 0.15],
  ['messaging_app', 0.1],
  ['upper_level', 0.05],
];
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const WORKERS = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄勇', '周丽', '吴强', '徐婷', '孙杰'];

/**
 * A year of incident history over the demo city (issue #11): reports at the demo's address points,
 * categories weighted towards the everyday ones, every route, handled in working time by the workflow's own
 * rules — most on time, some late (red cards), a few reworked (返工), postponed (延期), rejected or escalated,
 * and the last weeks' cases still open. The same seed gives the same history.
 * @param points where reports come from (the demo addresses), WGS 84 lon/lat
 * @param now the end of the year covered
 */
export function incidentHistory(seed: number, points: readonly [number, number][], grids: number, doc: ClassificationDoc, calendar: WorkingCalendar, now: Date): HistoricalCase[] {
  const random = createRandom(deriveSeed(seed, 'incidents'));
  const minors = doc.classes.flatMap((c) => c.minor);
  // Everyday street problems dominate; emergencies and approvals are rarer.
  const weights = minors.map((m) => (m.route === 'routine' ? 6 : m.route === 'coordination' ? 3 : m.route === 'urgent' ? 1 : 1.5));
  const total = Math.round(grids * CASES_PER_GRID_YEAR);
  const start = +now - 365 * 24 * HOUR;
  const cases: HistoricalCase[] = [];
  for (let n = 0; n < total; n++) {
    const minor = minors[weighted(random, weights)]!;
    const source = SOURCES[weighted(random, SOURCES.map(([, w]) => w))]![0];
    // Patrols report in working time; residents and the hotline at any hour.
    let reportedAt = new Date(start + random() * (+now - start - HOUR));
    if (source === 'patrol') reportedAt = calendar.addWorkingTime(reportedAt, random() * 2 * HOUR);
    if (+reportedAt >= +now) continue;
    const [lon, lat] = points[Math.floor(random() * points.length)]!;
    const steps = script(random, minor.route, reportedAt, minor.timeLimits.handle, calendar);
    cases.push({
      category: minor.code,
      point: { lon, lat },
      source,
      description: `${minor.name}：${pick(random, ['现场核实', '群众反映', '巡查发现', '热线转办'])}`,
      reporter: source === 'patrol' ? undefined : { name: `${pick(random, [...SURNAMES])}先生`, phone: `139${String(Math.floor(random() * 1e8)).padStart(8, '0')}` },
      reportedAt,
      steps: steps.filter((s) => +s.at < +now),
    });
  }
  return cases.sort((a, b) => +a.reportedAt - +b.reportedAt);
}

/**
 * The steps a case goes through. The command centre registers around the clock; handling is fed back within
 * 30–85 % of its window, about one case in twelve after the deadline; closing and evaluating happen in
 * working time.
 */
function script(random: Random, route: Route, reportedAt: Date, handle: TimeLimit, calendar: WorkingCalendar): HistoryStep[] {
  const steps: HistoryStep[] = [];
  let t = reportedAt;
  const natural = (ms: number) => (t = new Date(+t + ms));
  const working = (ms: number) => (t = calendar.addWorkingTime(t, ms));
  const worker = pick(random, WORKERS);
  if (random() < 0.03) {
    steps.push({ action: 'reject', at: natural(20 * MINUTE + random() * HOUR), note: '不属于受理范围' });
    return steps;
  }
  if (route === 'urgent' && random() < 0.3) steps.push({ action: 'escalate', at: natural(5 * MINUTE + random() * 10 * MINUTE), by: { kind: 'grid_worker' } });
  const registered = natural(10 * MINUTE + random() * 50 * MINUTE);
  steps.push({ action: 'register', at: registered });
  const due = calendar.deadline(registered, handle).due;
  const window = +due - +registered;
  steps.push({ action: 'dispatch', at: natural(window * 0.05 * random()) });
  steps.push({ action: 'accept', at: natural(window * 0.05 * random()) });
  const late = random() < 0.08;
  if (!late && random() < 0.03) {
    steps.push({ action: 'request_postponement', at: natural(window * 0.1), note: '需协调相关单位', extension: { type: 'working_days', amount: 2 } });
    steps.push({ action: 'approve_postponement', at: natural(window * 0.05) });
  }
  const fedBack = late ? +due + window * (0.1 + random()) : +registered + window * (0.3 + random() * 0.55);
  steps.push({ action: 'feed_back', at: (t = new Date(Math.max(fedBack, +t + MINUTE))), name: worker });
  if (random() < 0.04) {
    steps.push({ action: 'return_for_rework', at: working(30 * MINUTE + random() * 2 * HOUR), note: '现场复核未处置到位' });
    steps.push({ action: 'feed_back', at: working(calendar.limitMs(handle) * (0.1 + random() * 0.3)), name: worker });
  }
  steps.push({ action: 'close', at: working(20 * MINUTE + random() * 3 * HOUR) });
  if (random() < 0.6) steps.push({ action: 'evaluate', at: working(HOUR + random() * 5 * HOUR), evaluation: { score: random() < 0.85 ? 5 : 4 } });
  return steps;
}

function weighted(random: Random, weights: readonly number[]): number {
  const sum = weights.reduce((a, b) => a + b, 0);
  let r = random() * sum;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return weights.length - 1;
}
