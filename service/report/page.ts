import { escapeXml as esc } from '../formats/escape';
import type { Lang } from '../grids';

/** A minor class offered on the form, under its major class. */
export interface ReportCategory {
  major: string;
  code: string;
  name: string;
}

export interface ReportForm {
  lang: Lang;
  system: { key: string; name: string };
  grid: { code: string; name: string; chain: string[] };
  categories: ReportCategory[];
  /** What the resident typed, shown again when the form is answered with an error. */
  values?: { category?: string; description?: string; name?: string; phone?: string };
  error?: { code: string; message: string };
}

export interface ReportReceipt {
  lang: Lang;
  system: string;
  grid: { code: string; name: string };
  caseNo: string;
  category: string;
  handledBy: string;
}

const WORDS = {
  'zh-CN': {
    title: '事件上报',
    intro: '您所在的网格',
    category: '事件类别',
    choose: '请选择',
    description: '事件描述（地点、情况）',
    name: '您的称呼（选填）',
    phone: '联系电话（选填，仅用于回访，不公开）',
    submit: '提交',
    received: '已收到您的上报',
    caseNo: '事件编号',
    handledBy: '承办网格',
    keep: '请保存事件编号，可凭编号拨打服务热线查询办理进度。',
    another: '继续上报',
    error: '未能提交',
  },
  en: {
    title: 'Report an incident',
    intro: 'Your grid',
    category: 'Category',
    choose: 'Choose…',
    description: 'What and where',
    name: 'Your name (optional)',
    phone: 'Phone (optional; used only to call you back, never published)',
    submit: 'Submit',
    received: 'Your report was received',
    caseNo: 'Case number',
    handledBy: 'Handled by grid',
    keep: 'Keep the case number: the service hotline can tell you its progress.',
    another: 'Report another',
    error: 'Not submitted',
  },
} as const;

// One small stylesheet inline: the page is opened from a QR code on a phone, with no other request.
const STYLE = `body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:0 auto;max-width:36rem;padding:1rem;line-height:1.5;color:#222}
h1{font-size:1.4rem;margin:.2rem 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-weight:bold}
select,textarea,input{width:100%;box-sizing:border-box;font:inherit;padding:.4rem}textarea{min-height:7rem}
button{margin-top:1rem;font:inherit;padding:.6rem 1.6rem;background:#1f6feb;color:#fff;border:0;border-radius:4px}
.grid{background:#f3f5f8;padding:.6rem;border-radius:4px}.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}
.case{font-size:1.6rem;font-weight:bold;letter-spacing:.05em}`;

function page(lang: Lang, title: string, body: string): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** The resident's report form for one grid: plain HTML that works without script (the page's CSP allows none inline). */
export function reportFormHtml(f: ReportForm): string {
  const t = WORDS[f.lang];
  const v = f.values ?? {};
  const majors = [...new Set(f.categories.map((c) => c.major))];
  const options = majors
    .map((major) => {
      const minors = f.categories.filter((c) => c.major === major);
      return `<optgroup label="${esc(major)}">${minors.map((c) => `<option value="${esc(c.code)}"${v.category === c.code ? ' selected' : ''}>${esc(c.name)}</option>`).join('')}</optgroup>`;
    })
    .join('');
  const action = `/report?system=${encodeURIComponent(f.system.key)}&amp;grid=${encodeURIComponent(f.grid.code)}${f.lang === 'en' ? '&amp;lang=en' : ''}`;
  const error = f.error ? `<p class="error" role="alert" data-code="${esc(f.error.code)}"><b>${esc(t.error)}</b>：${esc(f.error.message)}</p>` : '';
  return page(
    f.lang,
    `${t.title} · ${f.grid.name}`,
    `<h1>${esc(t.title)}</h1>
<p class="grid">${esc(t.intro)}：<b>${esc(f.grid.name)}</b>（${esc(f.grid.code)}）<br><small>${esc([...f.grid.chain, f.system.name].join(' · '))}</small></p>
${error}<form method="post" action="${action}">
<label for="category">${esc(t.category)}</label><select id="category" name="category" required><option value="">${esc(t.choose)}</option>${options}</select>
<label for="description">${esc(t.description)}</label><textarea id="description" name="description" maxlength="4000" required>${esc(v.description ?? '')}</textarea>
<label for="name">${esc(t.name)}</label><input id="name" name="name" maxlength="100" value="${esc(v.name ?? '')}">
<label for="phone">${esc(t.phone)}</label><input id="phone" name="phone" type="tel" maxlength="20" value="${esc(v.phone ?? '')}">
<button type="submit">${esc(t.submit)}</button>
</form>`,
  );
}

/** What the resident sees after reporting: the case number to quote on the hotline. */
export function reportReceiptHtml(r: ReportReceipt): string {
  const t = WORDS[r.lang];
  const again = `/report?system=${encodeURIComponent(r.system)}&amp;grid=${encodeURIComponent(r.grid.code)}${r.lang === 'en' ? '&amp;lang=en' : ''}`;
  return page(
    r.lang,
    t.received,
    `<h1>${esc(t.received)}</h1>
<p>${esc(t.caseNo)}：<span class="case" id="case-no">${esc(r.caseNo)}</span></p>
<p>${esc(t.category)}：${esc(r.category)}<br>${esc(t.handledBy)}：${esc(r.handledBy)}</p>
<p>${esc(t.keep)}</p>
<p><a href="${again}">${esc(t.another)}</a></p>`,
  );
}
