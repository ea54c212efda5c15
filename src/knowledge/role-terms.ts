/**
 * Words of job titles, departments and sites, and of questions about them, reduced to comparable terms: lower-cased,
 * accents folded, stemmed, common abbreviations expanded ("CFO" → chief financial officer). A question's words become
 * term groups: a group matches a directory entry when every word of one of its alternatives does.
 *
 * The tables below are general English and workplace usage, written for any company; nothing in them names a
 * particular organisation's titles or sites.
 */
import { stem } from '../assistant/offline/stem.ts';
import { normalizeName } from './fuzzy.ts';

/**
 * Abbreviations of titles and departments. Several expansions where usage differs (CMO is a marketing or a medical
 * officer). Keys marked in CASE_ONLY are ordinary words too ("it", "or", "pa"), expanded only when typed in capitals.
 */
const ABBREVIATIONS: Record<string, string[]> = {
  ceo: ['chief executive officer'],
  cfo: ['chief financial officer', 'chief finance officer'],
  coo: ['chief operating officer', 'chief operations officer'],
  cto: ['chief technology officer', 'chief technical officer'],
  cio: ['chief information officer'],
  ciso: ['chief information security officer'],
  cso: ['chief security officer', 'chief strategy officer', 'chief sales officer'],
  cmo: ['chief marketing officer', 'chief medical officer'],
  cno: ['chief nursing officer'],
  cpo: ['chief people officer', 'chief product officer', 'chief privacy officer', 'chief procurement officer'],
  chro: ['chief human resources officer'],
  clo: ['chief legal officer'],
  cro: ['chief revenue officer', 'chief risk officer'],
  cco: ['chief compliance officer', 'chief commercial officer', 'chief communications officer'],
  cdo: ['chief data officer', 'chief digital officer'],
  cao: ['chief administrative officer', 'chief accounting officer'],
  vp: ['vice president'],
  svp: ['senior vice president'],
  evp: ['executive vice president'],
  avp: ['assistant vice president'],
  gm: ['general manager'],
  md: ['managing director', 'medical director'],
  gc: ['general counsel'],
  hr: ['human resources'],
  hrbp: ['human resources business partner'],
  hris: ['human resources information systems'],
  it: ['information technology'],
  is: ['information systems'],
  ea: ['executive assistant'],
  pa: ['personal assistant', 'physician assistant'],
  rn: ['registered nurse'],
  lpn: ['licensed practical nurse'],
  np: ['nurse practitioner'],
  cna: ['certified nursing assistant'],
  ma: ['medical assistant'],
  pt: ['physical therapist', 'physiotherapist'],
  ot: ['occupational therapist'],
  er: ['emergency room', 'emergency department'],
  ed: ['emergency department'],
  icu: ['intensive care unit'],
  or: ['operating room'],
  qa: ['quality assurance'],
  ux: ['user experience'],
  ui: ['user interface'],
  pm: ['product manager', 'project manager', 'program manager'],
  em: ['engineering manager'],
  sre: ['site reliability engineer'],
  swe: ['software engineer'],
  sdr: ['sales development representative'],
  ae: ['account executive'],
  csm: ['customer success manager'],
  ap: ['accounts payable'],
  ar: ['accounts receivable'],
  pr: ['public relations'],
  rd: ['research and development'],
  ehs: ['environment health and safety'],
  hse: ['health safety and environment'],
  infosec: ['information security'],
  cybersecurity: ['information security', 'cyber security', 'security'],
  mgr: ['manager'],
  dir: ['director'],
  sr: ['senior'],
  jr: ['junior'],
  asst: ['assistant'],
  assoc: ['associate'],
  coord: ['coordinator'],
  admin: ['administrator', 'administrative', 'administration'],
  exec: ['executive'],
  eng: ['engineering', 'engineer'],
  ops: ['operations'],
  dept: ['department'],
  mgmt: ['management'],
  tech: ['technician', 'technology'],
  rep: ['representative'],
  acct: ['accountant', 'accounting'],
  supv: ['supervisor'],
};
const CASE_ONLY = new Set(['it', 'is', 'or', 'er', 'ed', 'pa', 'ma', 'pt', 'ot', 'md', 'ae', 'ap', 'ar', 'em', 'ea', 'gc', 'pm', 'pr', 'rd', 'np', 'ui', 'gm']);

/**
 * Everyday words for what a role does, as alternatives to the question's own word (a question names the task, a
 * title names the job). General workplace knowledge, for any employer.
 */
const DUTIES: Record<string, string[]> = {
  overnight: ['night'],
  nighttime: ['night'],
  evening: ['evening', 'night'],
  weekend: ['weekend'],
  boss: ['manager', 'director', 'head'],
  paycheck: ['payroll'],
  paycheque: ['payroll'],
  payslip: ['payroll'],
  salary: ['payroll', 'compensation'],
  wages: ['payroll'],
  calendar: ['assistant'],
  diary: ['assistant'],
  scheduling: ['assistant', 'scheduler', 'scheduling'],
  badge: ['badge', 'access', 'security'],
  badges: ['badge', 'access', 'security'],
  keycard: ['badge', 'access', 'security'],
  laptop: ['help desk', 'service desk', 'information technology', 'desktop support'],
  password: ['help desk', 'service desk', 'identity', 'access'],
  hiring: ['recruiter', 'recruiting', 'recruitment', 'talent acquisition'],
  recruiting: ['recruiter', 'recruiting', 'recruitment', 'talent acquisition'],
  invoice: ['accounts payable', 'billing'],
  invoices: ['accounts payable', 'billing'],
  expenses: ['accounts payable', 'expense'],
  reimbursement: ['accounts payable', 'expense'],
  pension: ['benefits', 'pension'],
  contract: ['contracts', 'legal', 'counsel'],
  contracts: ['contracts', 'legal', 'counsel'],
  lawyer: ['counsel', 'legal', 'attorney'],
  lawyers: ['counsel', 'legal', 'attorney'],
  attorney: ['counsel', 'legal', 'attorney'],
  repairs: ['maintenance', 'facilities'],
  repair: ['maintenance', 'facilities'],
  broken: ['maintenance', 'facilities'],
  cleaning: ['housekeeping', 'janitorial', 'cleaner'],
  cleaner: ['housekeeping', 'janitorial', 'cleaner'],
  training: ['training', 'learning', 'education', 'educator'],
  onboarding: ['onboarding', 'recruiting', 'human resources'],
  cyber: ['security'],
};

/** Words that never describe a role: function words, question words, verbs of asking. */
const STOP = new Set(
  `a an the and or but if of at by for with about to from in on into onto over under up out off as per via
  is are was were be been being am do does did doing done have has had having can could should would will shall may might must
  i me my mine myself we our ours us you your yours he him his she her hers they them their theirs it its this that these those
  who whom whose whoever what which where when why how whats whos wheres hows there here please pls thanks thank hi hello hey
  tell show give find get gets getting got look lookup search know let lets need needs want like see ask asking
  person people persons someone somebody anyone anybody one ones guy guys gal folks individual
  name names named called same again also too just only all any some else other another new current currently now today
  s t re ve ll d m yes no ok okay sure right so then well talk speak reach contact touch hold`.split(/\s+/),
);

/** Words whose Porter stems collide with a different job word (office/officer). */
const STEM_EXCEPTIONS: Record<string, string> = { officer: 'officer', officers: 'officer', office: 'office', offices: 'office' };

/** One word as a comparable term. */
export function termOf(word: string): string {
  return STEM_EXCEPTIONS[word] ?? stem(word);
}

/** The terms of a directory field (title, department or site), abbreviations expanded (capitalised ones only for CASE_ONLY). */
export function fieldTerms(text: string): string[] {
  const out: string[] = [];
  for (const raw of words(text)) {
    const low = raw.toLowerCase();
    const exp = ABBREVIATIONS[low];
    if (exp && (!CASE_ONLY.has(low) || raw === raw.toUpperCase())) {
      // Keep the abbreviation itself too: a title written "IT Manager" and a question typing "IT" both match.
      out.push(low);
      for (const e of exp) for (const w of e.split(' ')) if (!STOP.has(w)) out.push(termOf(w));
      continue;
    }
    if (STOP.has(low)) continue;
    out.push(termOf(low));
  }
  return out;
}

/** A question word's alternatives, each a list of terms that must all be present. */
export interface TermGroup {
  /** The word as typed (lower-case). */
  word: string;
  /** Index of the word in the question, for phrase-level decisions. */
  at: number;
  alternatives: string[][];
  /**
   * The word typed in capitals ("SM", "SMs", "RVN"), singular and lower-case ("sm", "rvn"): it may spell the initials of
   * one of the directory's titles.
   */
  acronym?: string;
}

/** A capitalised abbreviation, or its plural ("VPs"), as typed: 2 to 6 capitals. */
const CAPS = /^\p{Lu}{2,6}$/u;
const CAPS_PLURAL = /^\p{Lu}{2,6}s$/u;

/** The title before a comma, bracket or spaced dash ("General Manager, Old Town" → "General Manager"). */
export function titleMainPart(title: string): string {
  return title.split(/[,(]|\s[-–—]\s/)[0] ?? '';
}

/** The words title acronyms are made of are those of the title's main part, connectors optional. */
const CONNECTORS = new Set(['of', 'and', 'the', 'to', 'for', 'in', 'at', 'on', 'a', 'an']);

/**
 * The acronyms a directory title may be typed as, lower-case, with the terms they stand for: the initials of its main
 * part (before a comma or bracket: "General Manager, Old Town" → gm), with and without connectors ("Director of
 * Nursing" → dn, don), a word already in capitals kept whole ("HR Business Partner" → hrbp). At least two words.
 */
export function titleAcronyms(title: string): { acronym: string; terms: string[] }[] {
  const main = titleMainPart(title);
  const ws = words(main);
  if (ws.length < 2) return [];
  // Every word but a connector must stand for a term ("People Manager" is not just any manager).
  if (ws.some((w) => !CONNECTORS.has(w.toLowerCase()) && !fieldTerms(w).length)) return [];
  const terms = fieldTerms(main);
  const initial = (w: string) => (CAPS.test(w) ? w.toLowerCase() : w.charAt(0).toLowerCase());
  const all = ws.map(initial).join('');
  const bare = ws.filter((w) => !CONNECTORS.has(w.toLowerCase())).map(initial).join('');
  const out: { acronym: string; terms: string[] }[] = [];
  for (const acronym of new Set([bare, all])) {
    // Not an ordinary short word ("Imaging Technician" is not "IT", "Operations Nurse" not "ON").
    if (acronym.length >= 2 && acronym.length <= 6 && /^[a-z]+$/.test(acronym) && !STOP.has(acronym) && ws.filter((w) => !CONNECTORS.has(w.toLowerCase())).length >= 2) out.push({ acronym, terms });
  }
  return out;
}

/** The question's words as term groups, at most `limit` of them; function words dropped. Linear in the input. */
export function questionTerms(text: string, limit = Infinity): TermGroup[] {
  const out: TermGroup[] = [];
  let at = 0;
  for (const raw of words(text)) {
    if (out.length >= limit) break;
    const low = raw.toLowerCase();
    at++;
    const alternatives: string[][] = [];
    // "VPs", "CFOs": the plural of an abbreviation typed in capitals.
    const acronym = CAPS.test(raw) ? low : CAPS_PLURAL.test(raw) ? low.slice(0, -1) : undefined;
    const key = acronym ?? low;
    const exp = ABBREVIATIONS[key];
    if (exp && (!CASE_ONLY.has(key) || (acronym !== undefined && key.length > 1))) {
      alternatives.push([key]);
      for (const e of exp) alternatives.push(e.split(' ').filter((w) => !STOP.has(w)).map(termOf));
    } else {
      if (STOP.has(low)) continue;
      alternatives.push([termOf(low)]);
    }
    const duty = DUTIES[low];
    if (duty) for (const d of duty) alternatives.push(d.split(' ').map(termOf));
    out.push(acronym ? { word: low, at, alternatives, acronym } : { word: low, at, alternatives });
  }
  return out;
}

/** Words of a text: letters and digits, with '&' as "and"; accents folded. Keeps the typed case. */
function words(text: string): string[] {
  const out: string[] = [];
  for (const m of text.replace(/&/g, ' and ').matchAll(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu)) {
    const w = m[0].replace(/['’]s$/i, '').replace(/['’]/g, '');
    const folded = normalizeName(w).replace(/ /g, '');
    if (!folded) continue;
    // Keep the capitalisation as typed for case-sensitive abbreviations ("IT" vs "it", "VPs" vs "vps").
    if (CAPS_PLURAL.test(w)) out.push(folded.slice(0, -1).toUpperCase() + 's');
    else out.push(w === w.toUpperCase() && /\p{L}/u.test(w) ? folded.toUpperCase() : folded);
  }
  return out;
}
