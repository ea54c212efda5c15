/**
 * A curated workplace thesaurus: the everyday words employees type and the words policies and how-tos are written
 * in (HR, pay, leave, IT, facilities, travel, finance, health and safety). Written by topic from general
 * knowledge, for any company; never from evaluation questions. Each group lists ways of saying one thing; a
 * question word (or phrase) in a group may match a passage that uses any other member of the group.
 *
 * Deliberately conservative: a member must mean the group's thing in nearly every workplace sentence (no "drive"
 * for "commute", no "fall" for "autumn"), because an expansion that is wrong half the time costs more than it finds.
 */

const GROUPS: string[][] = [
  // Leave and time off
  ['vacation', 'holiday leave', 'annual leave', 'paid time off', 'pto', 'time off', 'days off'],
  ['sick', 'ill', 'illness', 'unwell', 'sick leave', 'sickness'],
  ['bereavement', 'death', 'died', 'funeral', 'deceased', 'loss of a family member'],
  ['grandmother', 'grandparent'],
  ['grandfather', 'grandpa', 'grandparent'],
  ['mom', 'mother', 'parent'],
  ['dad', 'father', 'parent'],
  ['wife', 'husband', 'spouse', 'partner'],
  ['kid', 'child', 'son', 'daughter', 'dependent'],
  ['baby', 'newborn', 'birth', 'child'],
  ['maternity', 'parental leave', 'pregnancy', 'birth'],
  ['paternity', 'parental leave'],
  ['jury duty', 'jury service', 'court summons'],
  ['sabbatical', 'extended leave', 'leave of absence'],
  ['unpaid leave', 'leave without pay'],
  ['surgery', 'operation', 'medical procedure'],
  ['disability', 'short-term disability', 'long-term disability'],
  ['doctor', 'physician', 'medical provider', 'clinician'],
  ['appointment', 'visit', 'consultation'],
  // Pay and benefits
  ['pay', 'salary', 'wage', 'wages', 'compensation', 'earnings'],
  ['paycheck', 'paycheque', 'payslip', 'pay stub', 'pay statement'],
  ['payday', 'pay date', 'pay day'],
  ['raise', 'pay increase', 'salary increase', 'merit increase'],
  ['bonus', 'incentive', 'award'],
  ['overtime', 'extra hours', 'time and a half'],
  ['refund', 'reimbursement', 'reimburse'],
  ['expense', 'expenses', 'expense report', 'expense claim'],
  ['receipt', 'proof of purchase', 'invoice'],
  ['mileage', 'per mile', 'per kilometre', 'per kilometer'],
  ['per diem', 'daily allowance', 'meal allowance'],
  ['benefits', 'benefit', 'perks'],
  ['insurance', 'coverage', 'cover'],
  ['retirement', 'pension', '401k'],
  ['tuition', 'school fees', 'course fees', 'education assistance', 'degree'],
  ['class', 'course', 'training'],
  ['certification', 'certificate', 'license', 'licence', 'credential'],
  ['stipend', 'allowance'],
  ['tax', 'taxes', 'withholding'],
  ['direct deposit', 'bank account'],
  // Hiring, performance, conduct
  ['new hire', 'new employee', 'new starter', 'onboarding', 'orientation', 'first day'],
  ['quit', 'resign', 'resignation', 'leave the company', 'leaving', 'notice period'],
  ['fired', 'termination', 'terminated', 'dismissal', 'let go'],
  ['warning', 'written warning', 'verbal warning', 'corrective action', 'disciplinary action', 'discipline'],
  ['absent', 'absence', 'absences', 'no-show', 'attendance'],
  ['late', 'tardy', 'tardiness', 'lateness'],
  ['review', 'performance review', 'appraisal', 'evaluation'],
  ['promotion', 'promoted', 'advancement'],
  ['harassment', 'bullying', 'discrimination', 'hostile'],
  ['complaint', 'grievance', 'concern', 'report'],
  ['job', 'position', 'role', 'employment'],
  ['coworker', 'co-worker', 'colleague', 'teammate'],
  ['boss', 'manager', 'supervisor', 'team lead'],
  ['probation', 'probationary period', 'new employee'],
  // Schedules and shifts
  ['shift', 'shifts', 'schedule', 'rota', 'roster'],
  ['swap', 'trade', 'switch'],
  ['night', 'overnight', 'night shift', 'nights'],
  ['weekend', 'saturday', 'sunday'],
  ['on call', 'on-call', 'standby', 'call-back', 'callback'],
  ['break', 'rest break', 'meal break', 'lunch break'],
  ['hours', 'working hours', 'work hours'],
  ['remote', 'from home', 'work from home', 'wfh', 'telework', 'teleworking', 'remotely'],
  ['commute', 'commuting', 'travel to work'],
  // IT
  ['password', 'passcode', 'passphrase', 'credentials', 'login'],
  ['log in', 'login', 'sign in', 'signin', 'logon', 'log on'],
  ['log out', 'logout', 'sign out', 'signed out', 'timeout', 'time out', 'timed out', 'session timeout', 'inactivity', 'idle'],
  ['locked out', 'locked', 'lockout', 'account locked'],
  ['two-factor', 'two-step', '2fa', 'mfa', 'multi-factor', 'multifactor', 'authenticator', 'verification code'],
  ['laptop', 'computer', 'notebook', 'pc', 'workstation', 'device'],
  ['phone', 'cellphone', 'mobile', 'smartphone', 'mobile phone'],
  ['broken', 'not working', 'stopped working', 'damaged', 'cracked'],
  ['vpn', 'remote access', 'virtual private network'],
  ['virtual desktop', 'remote desktop', 'vdi', 'citrix'],
  ['wifi', 'wi-fi', 'wireless', 'internet', 'network'],
  ['printer', 'printing', 'print'],
  ['software', 'application', 'app', 'program', 'tool'],
  ['install', 'installation', 'download', 'set up', 'setup'],
  ['email', 'e-mail', 'mail', 'inbox', 'mailbox'],
  ['encrypt', 'encrypted', 'secure email', 'encryption'],
  ['phishing', 'scam', 'suspicious email', 'spoofed'],
  ['virus', 'malware', 'ransomware', 'infected'],
  ['hacked', 'breach', 'compromised', 'security incident', 'incident'],
  ['ticket', 'help desk', 'helpdesk', 'service desk', 'it support', 'support request'],
  ['access', 'permission', 'permissions', 'rights'],
  ['photo', 'picture', 'image', 'photograph'],
  // Facilities, badges, parking, travel
  ['badge', 'id badge', 'id card', 'access card', 'keycard', 'key card'],
  ['lost', 'misplaced', "can't find", 'missing', 'stolen'],
  ['parking', 'park', 'car park', 'parking lot', 'garage', 'lot'],
  ['car', 'vehicle', 'automobile'],
  ['shuttle', 'bus', 'shuttle bus'],
  ['bike', 'bicycle', 'cycling', 'cycle'],
  ['office', 'workplace', 'site', 'building', 'premises'],
  ['desk', 'workspace', 'hot desk', 'workstation'],
  ['meeting room', 'conference room', 'room booking'],
  ['kitchen', 'break room', 'pantry', 'canteen', 'cafeteria'],
  ['toilet', 'restroom', 'bathroom', 'washroom'],
  ['broken', 'repair', 'maintenance', 'facilities request'],
  ['temperature', 'too cold', 'too hot', 'heating', 'air conditioning', 'hvac'],
  ['visitor', 'guest', 'visitors'],
  ['trip', 'travel', 'business trip', 'journey'],
  ['flight', 'fly', 'airfare', 'plane', 'air travel'],
  ['hotel', 'accommodation', 'lodging'],
  ['conference', 'seminar', 'workshop', 'event'],
  ['abroad', 'international', 'overseas', 'foreign country', 'outside the country'],
  ['uniform', 'dress code', 'attire', 'clothing', 'clothes'],
  ['jewelry', 'jewellery', 'rings', 'earrings'],
  // Health and safety
  ['vomiting', 'vomit', 'gastroenteritis', 'diarrhea', 'diarrhoea'],
  ['fever', 'feverish'],
  ['flu', 'influenza'],
  ['vaccine', 'vaccination', 'shot', 'jab', 'immunization', 'immunisation'],
  ['exemption', 'exempt', 'opt out', 'decline', 'waiver'],
  ['injury', 'injured', 'hurt', 'accident', 'wounded'],
  ['needlestick', 'needle stick', 'sharps injury', 'needle', 'sharps'],
  ['exposure', 'exposed', 'splash'],
  ['first aid', 'first-aid kit', 'aid kit'],
  ['emergency', 'urgent', 'emergency department', 'emergency room'],
  ['fire', 'evacuation', 'fire alarm', 'evacuate'],
  ['violence', 'assault', 'assaulted', 'attacked', 'punched', 'threatened', 'aggressive', 'aggression', 'abusive'],
  ['yelling', 'shouting', 'verbal abuse', 'threatening'],
  ['counseling', 'counselling', 'employee assistance', 'eap', 'therapist', 'mental health'],
  ['stress', 'stressed', 'burnout', 'anxiety', 'upset', 'trauma'],
  ['report', 'incident report', 'file a report', 'notify'],
  ['mistake', 'error', 'wrong', 'accidentally'],
  ['privacy', 'confidential', 'confidentiality', 'hipaa', 'gdpr', 'personal data'],
  ['record', 'records', 'file', 'chart'],
  ['shred', 'shredding', 'dispose', 'disposal', 'destroy'],
  // Money words and quantities
  ['cost', 'price', 'fee', 'charge', 'pay for'],
  ['free', 'no charge', 'no cost', 'free of charge'],
  ['limit', 'maximum', 'cap', 'max', 'at most', 'up to'],
  ['minimum', 'at least', 'least'],
  ['deadline', 'due date', 'no later than', 'by when'],
  ['approve', 'approval', 'approved', 'sign off', 'sign-off', 'authorize', 'authorise', 'authorization'],
  ['request', 'apply', 'application', 'submit', 'form'],
  ['year', 'annual', 'annually', 'yearly', 'per year', 'each year'],
  ['month', 'monthly', 'per month'],
  ['week', 'weekly', 'per week'],
  ['rule', 'rules', 'policy', 'requirement', 'requirements', 'guideline', 'guidelines'],
];

/** Everything a word or phrase of a question may also be written as (lower case; phrases with single spaces). */
const INDEX: Map<string, string[]> = (() => {
  const out = new Map<string, Set<string>>();
  for (const group of GROUPS) {
    for (const member of group) {
      const set = out.get(member) ?? new Set<string>();
      for (const other of group) if (other !== member) set.add(other);
      out.set(member, set);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]));
})();

/** Longest thesaurus key, in words (phrases in questions are looked up up to this length). */
const MAX_PHRASE = Math.max(...[...INDEX.keys()].map((k) => k.split(' ').length));

/** Other ways of saying `phrase` (a lower-case word or phrase), or none. */
export function alternativesOf(phrase: string): readonly string[] {
  return INDEX.get(phrase) ?? [];
}

/**
 * Splits a question's words into thesaurus phrases (longest first at each position) and single words; every word
 * is in exactly one segment, in order. Linear in the number of words (phrases are at most a few words long).
 */
export function segments(words: readonly string[]): { text: string; alts: readonly string[] }[] {
  const out: { text: string; alts: readonly string[] }[] = [];
  for (let i = 0; i < words.length; ) {
    let n = Math.min(MAX_PHRASE, words.length - i);
    for (; n > 1; n--) if (INDEX.has(words.slice(i, i + n).join(' '))) break;
    const text = words.slice(i, i + n).join(' ');
    out.push({ text, alts: alternativesOf(text) });
    i += n;
  }
  return out;
}
