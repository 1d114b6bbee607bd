// Capacity by EC2 instance type. Pod counts are EKS's max-pods for the VPC CNI
// (ENIs x (IPs per ENI - 1) + 2), so scheduling limits feel like EKS.
export interface InstanceCapacity {
  cpu: number;
  memoryMi: number;
  pods: number;
}

const table: Record<string, InstanceCapacity> = {
  't3a.micro': { cpu: 2, memoryMi: 1024, pods: 4 },
  't3a.small': { cpu: 2, memoryMi: 2048, pods: 8 },
  't3a.medium': { cpu: 2, memoryMi: 4096, pods: 17 },
  't3a.large': { cpu: 2, memoryMi: 8192, pods: 35 },
  't3a.xlarge': { cpu: 4, memoryMi: 16384, pods: 58 },
  't3a.2xlarge': { cpu: 8, memoryMi: 32768, pods: 58 },
  't3.medium': { cpu: 2, memoryMi: 4096, pods: 17 },
  't3.large': { cpu: 2, memoryMi: 8192, pods: 35 },
  't3.xlarge': { cpu: 4, memoryMi: 16384, pods: 58 },
  'm5.large': { cpu: 2, memoryMi: 8192, pods: 29 },
  'm5.xlarge': { cpu: 4, memoryMi: 16384, pods: 58 },
  'm5.2xlarge': { cpu: 8, memoryMi: 32768, pods: 58 },
  'r5.large': { cpu: 2, memoryMi: 16384, pods: 29 },
  'r5.xlarge': { cpu: 4, memoryMi: 32768, pods: 58 },
  'r5.2xlarge': { cpu: 8, memoryMi: 65536, pods: 58 },
  'r6i.large': { cpu: 2, memoryMi: 16384, pods: 29 },
  'r6i.xlarge': { cpu: 4, memoryMi: 32768, pods: 58 },
};

/** Unknown types get a mid-size default rather than failing the join. */
export const capacityOf = (instanceType: string): InstanceCapacity =>
  table[instanceType] ?? { cpu: 2, memoryMi: 8192, pods: 29 };

/** Node capacity as the kubelet reports it. */
export const nodeResources = (instanceType: string): Record<string, string> => {
  const c = capacityOf(instanceType);
  return {
    cpu: String(c.cpu),
    memory: `${c.memoryMi}Mi`,
    pods: String(c.pods),
    'ephemeral-storage': '20Gi',
    'hugepages-2Mi': '0',
  };
};
