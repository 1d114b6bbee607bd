/**
 * PriorityClass names for the pods the operator makes, from the operator's
 * settings (the chart ships the classes). The tickerplant and the RDBs rank
 * above the end-of-day merge, so node pressure or preemption takes the merge
 * first; the gateway and the HDB (`query`) rank between: they hold no data
 * of the day, but users wait on them. An empty name sets none: a pod naming a PriorityClass that does not
 * exist is refused by the API server.
 */
export interface PriorityClasses {
  tickerplant?: string;
  rdb?: string;
  merge?: string;
  /** The gateway and the HDB. */
  query?: string;
}

export const priorityClassField = (name: string | undefined): { priorityClassName?: string } => (name ? { priorityClassName: name } : {});
