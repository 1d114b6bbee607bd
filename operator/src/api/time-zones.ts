/**
 * The time zones spec.tickerplant.endOfDay.timeZone may name, checked by the
 * API server (a CEL rule in the CRD) and by the operator: an unknown zone
 * would otherwise crash-loop the reference tickerplant, and q (glibc) would
 * silently run it in UTC.
 *
 * The list is the runtime's: Intl.supportedValuesOf('timeZone') of the pinned
 * Node (package.json, node@24; the CRD is generated with it, so the list is
 * deterministic), plus 'UTC', plus the zones of the tz database that ICU
 * files under an older id (it lists Asia/Calcutta, not Asia/Kolkata; it lists
 * no Etc/GMT+N). Every entry is one Intl accepts, which is the reference
 * tickerplant's own check (images/sim/src/tickerplant/trading-day.ts
 * isValidTimeZone); a unit test holds the two together.
 */
const TZDB_ZONES_ICU_LISTS_UNDER_OLD_IDS = [
  'Africa/Asmara', 'America/Argentina/Buenos_Aires', 'America/Argentina/Catamarca',
  'America/Argentina/Cordoba', 'America/Argentina/Jujuy', 'America/Argentina/Mendoza', 'America/Atikokan',
  'America/Indiana/Indianapolis', 'America/Kentucky/Louisville', 'America/Nuuk', 'Asia/Ho_Chi_Minh',
  'Asia/Kathmandu', 'Asia/Kolkata', 'Asia/Yangon', 'Atlantic/Faroe', 'CET', 'CST6CDT', 'EET', 'EST',
  'EST5EDT', 'Etc/GMT', 'Etc/GMT+1', 'Etc/GMT+10', 'Etc/GMT+11', 'Etc/GMT+12', 'Etc/GMT+2', 'Etc/GMT+3',
  'Etc/GMT+4', 'Etc/GMT+5', 'Etc/GMT+6', 'Etc/GMT+7', 'Etc/GMT+8', 'Etc/GMT+9', 'Etc/GMT-1', 'Etc/GMT-10',
  'Etc/GMT-11', 'Etc/GMT-12', 'Etc/GMT-13', 'Etc/GMT-14', 'Etc/GMT-2', 'Etc/GMT-3', 'Etc/GMT-4', 'Etc/GMT-5',
  'Etc/GMT-6', 'Etc/GMT-7', 'Etc/GMT-8', 'Etc/GMT-9', 'Etc/UTC', 'Europe/Kyiv', 'HST', 'MET', 'MST',
  'MST7MDT', 'PST8PDT', 'Pacific/Chuuk', 'Pacific/Kanton', 'Pacific/Pohnpei', 'WET',
];

const intlAccepts = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** Sorted by code unit, so the generated CRD does not depend on the machine's locale. */
export const TIME_ZONES: readonly string[] = [
  ...new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', ...TZDB_ZONES_ICU_LISTS_UNDER_OLD_IDS]),
]
  .filter(intlAccepts)
  .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

const KNOWN = new Set(TIME_ZONES);
export const isKnownTimeZone = (tz: string): boolean => KNOWN.has(tz);
