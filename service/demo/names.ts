import { pick, shuffle, type Random } from './random';
import type { DemoPerson } from './types';

/**
 * Plausible Chinese names. Place names combine two characters as Chengdu's do (锦华, 桂溪, 玉林); they
 * are invented, so any match with a real place is chance.
 */
const PLACE_FIRST = [...'锦桂玉青金红紫翠银碧龙凤华新永福万双长安东文兴瑞清光太和宏盛嘉德丰润荷柳杏桐梧枫'];
const PLACE_SECOND = [...'溪林江沙河桥湾园城坪坝泉山湖塘岭峰阳源池洲庭港滨岸堰坡口府里苑'];
/** Appended once the plain two-character names run out (a 100 000-grid district has 10 000 communities). */
const PLACE_VARIANTS = ['', '东', '西', '南', '北', '中', '新', '上', '下'];

/** `count` distinct place names in random order. */
export function placeNames(random: Random, count: number): string[] {
  const bases = shuffle(
    random,
    PLACE_FIRST.flatMap((a) => PLACE_SECOND.filter((b) => b !== a).map((b) => a + b)),
  );
  const names: string[] = [];
  for (let k = 0; k < count; k++) {
    const round = Math.floor(k / bases.length);
    const variant = round < PLACE_VARIANTS.length ? PLACE_VARIANTS[round] : String(round);
    names.push(bases[k % bases.length] + variant);
  }
  return names;
}

/** Road names: east–west roads are 路, north–south ones 街, every seventh a 大道. */
export function roadNames(random: Random, count: number, suffix: '路' | '街'): string[] {
  return placeNames(random, count).map((name, k) => name + (k % 7 === 3 ? '大道' : suffix));
}

/** Common surnames, most frequent first; drawn with weight 1 / (rank + 4), roughly their real spread. */
const SURNAMES = [
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾夏付方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文',
];
const SURNAME_WEIGHTS = cumulative(SURNAMES.map((_, rank) => 1 / (rank + 4)));
const GIVEN = [
  ...'伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力鹏飞斌宇浩凯鑫婷雪琳晨欣颖佳怡思雨梦子涵博轩然泽宁海波峰亮成彬俊健玲燕梅兰云丹倩蕾晓春志国庆荣清永德东新嘉瑶琪昊远帆',
];

function cumulative(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => (sum += w / total));
}

function personName(random: Random): string {
  const r = random();
  const surname = SURNAMES[Math.max(0, SURNAME_WEIGHTS.findIndex((w) => r < w))];
  return surname + pick(random, GIVEN) + (random() < 0.7 ? pick(random, GIVEN) : '');
}

/** Mobile prefixes of the three carriers; the eight digits after them are random. */
const MOBILE_PREFIXES = ['130', '131', '132', '133', '135', '136', '137', '138', '139', '150', '151', '152', '153', '155', '157', '158', '159', '177', '180', '181', '186', '187', '188', '189', '199'];

function phoneNumber(random: Random): string {
  return pick(random, MOBILE_PREFIXES) + String(Math.floor(random() * 1e8)).padStart(8, '0');
}

/** One responsible person and `helpers.length` helpers with the given titles. */
export function people(random: Random, responsible: string, helpers: readonly string[]): DemoPerson[] {
  return [
    { name: personName(random), role: 'responsible', title: responsible, phone: phoneNumber(random) },
    ...helpers.map((title): DemoPerson => ({ name: personName(random), role: 'helper', title, phone: phoneNumber(random) })),
  ];
}
