/**
 * PriorityClass names for the pods the operator makes, from the operator's
 * settings (the chart ships the classes). The tickerplant and the RDBs rank
 * above the end-of-day merge, so node pressure or preemption takes the merge
 * first. An empty name sets none: a pod naming a PriorityClass that does not
 * exist is refused by the API server.
 */
export interface PriorityClasses {
  tickerplant?: string;
  rdb?: string;
  merge?: string;
}

export const priorityClassField = (name: string | undefined): { priorityClassName?: string } => (name ? { priorityClassName: name } : {});
