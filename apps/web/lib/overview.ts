import { OVERVIEW_SORTS, type TModelOverview, type TOverviewPage, type TOverviewSort } from '@modelyard/contracts';

/** The server-side orders the overview and models list offer, as the URL's `sort` names them. */
export const SORT_LABELS: Record<TOverviewSort, string> = {
  updated: 'Recently updated',
  name: 'Name',
  requests: 'Most requests (24 h)',
};

export const overviewSortOf = (v: string): TOverviewSort =>
  (OVERVIEW_SORTS as readonly string[]).includes(v) ? (v as TOverviewSort) : 'updated';

/** A model's requests per step of the page's grid (the API already merged the minutes), for a sparkline. */
export function sparkOf(page: Pick<TOverviewPage, 'start' | 'stepMs'>, m: TModelOverview) {
  const start = Date.parse(page.start);
  return m.traffic.requests.map((requests, i) => ({ t: start + i * page.stepMs, requests }));
}
