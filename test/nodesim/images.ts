// Resolves a container's image and command/args to the argv it runs, from
// images.yaml, the simulator's stand-in for image ENTRYPOINT/CMD.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

interface ImageEntry {
  entrypoint: string[];
  args: string[];
}

const file = join(dirname(fileURLToPath(import.meta.url)), 'images.yaml');

export const loadImages = (path: string = file): Map<string, ImageEntry> => {
  const doc = parse(readFileSync(path, 'utf8')) as { images?: Record<string, Partial<ImageEntry>> };
  const out = new Map<string, ImageEntry>();
  for (const [repo, e] of Object.entries(doc.images ?? {})) {
    out.set(repo, { entrypoint: e.entrypoint ?? [], args: e.args ?? [] });
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
  return argv;
};
