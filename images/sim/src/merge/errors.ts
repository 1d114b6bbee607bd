/** The merge refuses: the message says which day, which slices and what to do. */
export class MergeError extends Error {}
