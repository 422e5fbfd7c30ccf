// The dashboard's words in French and English. A missing key is a type
// error: both languages always have every text.

export type Lang = "fr" | "en";

const en = {
  title: "Digital skills: regional talent gaps",
  skipToContent: "Skip to content",
  language: "Language",
  period: "Period",
  skill: "Skill",
  token: "Access token",
  tokenHelp:
    "Public view without a token. With a policy token nothing is withheld; a partner token shows the public view. The token stays in this tab only.",
  apply: "Apply",
  forget: "Forget token",
  audiencePublic: "Public view",
  audienceToken: "Token view",
  mapTitle: "Shortage score by region",
  mapHelp: "Tab to a region, Enter to open its page.",
  legendTitle: "Shortage score (1 = small, 5 = severe)",
  noData: "no data",
  withheld: "withheld",
  withheldReason:
    "Withheld to protect individuals: fewer learners than the publication threshold (k = {k}), or needed to protect another withheld cell.",
  undefinedReason: "No value: nothing to compute it from in this period (for example no job openings).",
  rankingTitle: "Largest talent gaps",
  regionsTitle: "All regions for the chosen skill",
  rank: "Rank",
  code: "Code",
  regionCode: "Region code",
  skillCode: "Skill code",
  region: "Region",
  score: "Score",
  talentGap: "Talent gap",
  shortageRatio: "Shortage ratio",
  openings: "Openings",
  learners: "Learners",
  enrolled: "Enrolled",
  completed: "Completed",
  certified: "Certified",
  completionRate: "Completion rate",
  pipeline: "Pipeline",
  downloadCsv: "Download CSV",
  asOf: "Data as of {time}",
  complete: "complete",
  incomplete: "incomplete: late events may still change these figures",
  withheldCount: "{n} withheld cells (k = {k})",
  live: "Live",
  reconnecting: "Reconnecting…",
  back: "All regions",
  regionPage: "{region}: every skill",
  skillsTable: "Indicators for every skill",
  inclusionTitle: "Inclusion against targets",
  group: "Group",
  shareEnrolled: "Share of enrolled",
  shareCertified: "Share of certified",
  target: "Target",
  distanceEnrolled: "Gap to target (enrolled)",
  trendTitle: "Talent gap over 24 months: {skill}",
  month: "Month",
  error: "The service answered: {message}",
  loading: "Loading…",
  groups_women: "Women",
  groups_priority_neighbourhood: "Priority neighbourhoods",
  groups_rural: "Rural areas",
  groups_under_26: "Under 26",
  groups_jobseekers: "Jobseekers",
  openRegion: "{region}: score {score}. Open the region's page.",
  openRegionNoScore: "{region}: {state}. Open the region's page.",
  attribution: "Map: svg-maps France departments (CC BY 4.0), Natural Earth. Indicators: METHODOLOGY.md.",
};

export type Key = keyof typeof en;

const fr: Record<Key, string> = {
  title: "Compétences numériques : pénuries de talents par région",
  skipToContent: "Aller au contenu",
  language: "Langue",
  period: "Période",
  skill: "Compétence",
  token: "Jeton d'accès",
  tokenHelp:
    "Vue publique sans jeton. Avec un jeton politique rien n'est masqué ; un jeton partenaire montre la vue publique. Le jeton ne reste que dans cet onglet.",
  apply: "Appliquer",
  forget: "Oublier le jeton",
  audiencePublic: "Vue publique",
  audienceToken: "Vue avec jeton",
  mapTitle: "Score de pénurie par région",
  mapHelp: "Tabulation pour aller à une région, Entrée pour ouvrir sa page.",
  legendTitle: "Score de pénurie (1 = faible, 5 = sévère)",
  noData: "pas de donnée",
  withheld: "masqué",
  withheldReason:
    "Masqué pour protéger les personnes : moins d'apprenants que le seuil de publication (k = {k}), ou nécessaire pour protéger une autre cellule masquée.",
  undefinedReason: "Pas de valeur : rien pour la calculer sur cette période (par exemple aucune offre d'emploi).",
  rankingTitle: "Plus fortes pénuries de talents",
  regionsTitle: "Toutes les régions pour la compétence choisie",
  rank: "Rang",
  code: "Code",
  regionCode: "Code région",
  skillCode: "Code compétence",
  region: "Région",
  score: "Score",
  talentGap: "Écart de talents",
  shortageRatio: "Ratio de pénurie",
  openings: "Offres",
  learners: "Apprenants",
  enrolled: "Inscrits",
  completed: "Terminés",
  certified: "Certifiés",
  completionRate: "Taux d'achèvement",
  pipeline: "Vivier",
  downloadCsv: "Télécharger en CSV",
  asOf: "Données au {time}",
  complete: "complètes",
  incomplete: "incomplètes : des événements tardifs peuvent encore changer ces chiffres",
  withheldCount: "{n} cellules masquées (k = {k})",
  live: "En direct",
  reconnecting: "Reconnexion…",
  back: "Toutes les régions",
  regionPage: "{region} : toutes les compétences",
  skillsTable: "Indicateurs pour chaque compétence",
  inclusionTitle: "Inclusion par rapport aux objectifs",
  group: "Groupe",
  shareEnrolled: "Part des inscrits",
  shareCertified: "Part des certifiés",
  target: "Objectif",
  distanceEnrolled: "Écart à l'objectif (inscrits)",
  trendTitle: "Écart de talents sur 24 mois : {skill}",
  month: "Mois",
  error: "Le service a répondu : {message}",
  loading: "Chargement…",
  groups_women: "Femmes",
  groups_priority_neighbourhood: "Quartiers prioritaires",
  groups_rural: "Zones rurales",
  groups_under_26: "Moins de 26 ans",
  groups_jobseekers: "Demandeurs d'emploi",
  openRegion: "{region} : score {score}. Ouvrir la page de la région.",
  openRegionNoScore: "{region} : {state}. Ouvrir la page de la région.",
  attribution: "Carte : svg-maps départements de France (CC BY 4.0), Natural Earth. Indicateurs : METHODOLOGY.md.",
};

const texts: Record<Lang, Record<Key, string>> = { en, fr };

let current: Lang = "en";

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang;
}

export function lang(): Lang {
  return current;
}

/** The text of `key`, with `{name}` replaced by `values.name`. */
export function t(key: Key, values: Record<string, string | number> = {}): string {
  return texts[current][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}

/** A group's name (the service sends its code), or the code itself. */
export function groupName(code: string): string {
  const key = `groups_${code}` as Key;
  return key in en ? t(key) : code;
}

/** Numbers as the language writes them, to `digits` decimals at most. */
export function number(value: number, digits = 1): string {
  // A value that rounds to zero is "0", not "-0".
  const shown = Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value;
  return new Intl.NumberFormat(current === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: digits }).format(shown);
}

export function percent(value: number): string {
  return new Intl.NumberFormat(current === "fr" ? "fr-FR" : "en-GB", {
    style: "percent",
    maximumFractionDigits: 1,
  }).format(value);
}

export function dateTime(date: Date): string {
  return new Intl.DateTimeFormat(current === "fr" ? "fr-FR" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "UTC",
  }).format(date) + " UTC";
}
