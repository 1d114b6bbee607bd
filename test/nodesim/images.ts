// Resolves a container's image and command/args to the argv it runs, from
// images.yaml, the simulator's stand-in for image ENTRYPOINT/CMD.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

interface ImageEntry {
  entrypoint: string[];
  args: string[];
  /** Paths the image holds, mapped to files of the checkout (absolute), for images whose program is not in the repo as is. */
  files: Map<string, string>;
  /** The image's ENV: under every container's own env, as the container runtime applies it. */
  env: Record<string, string>;
}

const file = join(dirname(fileURLToPath(import.meta.url)), 'images.yaml');
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const loadImages = (path: string = file): Map<string, ImageEntry> => {
  type Doc = { images?: Record<string, { entrypoint?: string[]; args?: string[]; files?: Record<string, string>; env?: Record<string, string> }> };
  const doc = parse(readFileSync(path, 'utf8')) as Doc;
  const out = new Map<string, ImageEntry>();
  for (const [repo, e] of Object.entries(doc.images ?? {})) {
    const files = new Map(Object.entries(e.files ?? {}).map(([inImage, inRepo]) => [inImage, join(repoRoot, inRepo)]));
    out.set(repo, { entrypoint: e.entrypoint ?? [], args: e.args ?? [], files, env: e.env ?? {} });
  }
  return out;
};

/** "ghcr.io/x/y:1.2@sha256:..." -> "ghcr.io/x/y"; docker.io/library/ prefixes dropped. */
export const imageRepository = (image: string): string => {
  let ref = image.split('@')[0] ?? image;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) ref = ref.slice(0, colon);
  return ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
};

export class UnknownImageError extends Error {}

/** The image's ENV (none for an image the map does not know). */
export const imageEnv = (images: Map<string, ImageEntry>, image: string): Record<string, string> => ({ ...images.get(imageRepository(image))?.env });

/** The argv Kubernetes would run: command replaces ENTRYPOINT, args replace CMD. */
export const resolveArgv = (
  images: Map<string, ImageEntry>,
  image: string,
  command: string[] | undefined,
  args: string[] | undefined,
): string[] => {
  const entry = images.get(imageRepository(image));
  if (!entry && !(command && command.length > 0)) {
    throw new UnknownImageError(`image ${image} is not in test/nodesim/images.yaml`);
  }
  const entrypoint = command && command.length > 0 ? command : entry!.entrypoint;
  // A pod's command without args drops the image CMD too.
  const cmdArgs = args && args.length > 0 ? args : command && command.length > 0 ? [] : (entry?.args ?? []);
  const argv = [...entrypoint, ...cmdArgs];
  if (argv.length === 0) throw new UnknownImageError(`image ${image} has no command`);
  // The program is a file of the image (a static binary at /kdb-agent): run the checkout's build of it.
  const program = entry?.files.get(argv[0]!);
  return program === undefined ? argv : [program, ...argv.slice(1)];
};
