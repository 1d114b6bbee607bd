/**
 * A node maps to its EC2 instance through spec.providerID
 * (`aws:///<zone>/<instance-id>`), the same form cluster-autoscaler and the
 * AWS cloud provider use. Anything else maps to nothing: the planner never
 * guesses an instance from a node name.
 */
const PROVIDER_ID = /^aws:\/\/\/([a-z0-9-]+)\/(i-[0-9a-f]+)$/;

export interface ProviderRef {
  zone: string;
  instanceId: string;
}

export const parseProviderId = (providerId: string | undefined): ProviderRef | undefined => {
  const m = providerId ? PROVIDER_ID.exec(providerId) : null;
  return m ? { zone: m[1]!, instanceId: m[2]! } : undefined;
};

export const instanceIdOf = (providerId: string | undefined): string | undefined => parseProviderId(providerId)?.instanceId;
