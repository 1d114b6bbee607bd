// Kubernetes object types for the rest of the operator. They are
// client-node's models with every Date turned into the string the API
// server actually sends: this layer moves plain JSON only (no client-node
// deserialisation), so timestamps are RFC 3339 strings everywhere, in lists,
// watch events and responses alike.
import type * as k8s from '@kubernetes/client-node';

/** OpenAPI v3 schema of a CRD version, with its real (JSON) key names. */
export interface JsonSchemaProps {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchemaProps>;
  items?: JsonSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }>;
  [key: string]: unknown;
}

// client-node renames a few JSON keys that are TypeScript keywords
// (`_default`, `_continue`, `_from`, `_int`, `_enum`): restore them.
type WireKey<K> = K extends `_${infer R}` ? R : K;

/** A client-node model as it appears on the wire (Date -> string, real key names). */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? string extends keyof T
        ? { [K in keyof T]: Wire<T[K]> } // a map (labels, data): keep its index signature
        : 'x_kubernetes_preserve_unknown_fields' extends keyof T
          ? JsonSchemaProps
          : { [K in keyof T as WireKey<K & string>]: Wire<T[K]> }
      : T;

export type V1ObjectMeta = Wire<k8s.V1ObjectMeta>;
export type V1ListMeta = Wire<k8s.V1ListMeta>;
export type V1OwnerReference = Wire<k8s.V1OwnerReference>;
export type V1Condition = Wire<k8s.V1Condition>;
export type V1Status = Wire<k8s.V1Status>;

export type V1Pod = Wire<k8s.V1Pod>;
export type V1PodSpec = Wire<k8s.V1PodSpec>;
export type V1PodStatus = Wire<k8s.V1PodStatus>;
export type V1PodCondition = Wire<k8s.V1PodCondition>;
export type V1PodTemplateSpec = Wire<k8s.V1PodTemplateSpec>;
export type V1Container = Wire<k8s.V1Container>;
export type V1Volume = Wire<k8s.V1Volume>;
export type V1EnvVar = Wire<k8s.V1EnvVar>;
export type V1ResourceRequirements = Wire<k8s.V1ResourceRequirements>;
export type V1Toleration = Wire<k8s.V1Toleration>;
export type V1Affinity = Wire<k8s.V1Affinity>;
export type V1Node = Wire<k8s.V1Node>;
export type V1NodeCondition = Wire<k8s.V1NodeCondition>;
export type V1Namespace = Wire<k8s.V1Namespace>;
export type V1ConfigMap = Wire<k8s.V1ConfigMap>;
export type V1Secret = Wire<k8s.V1Secret>;
export type V1Service = Wire<k8s.V1Service>;
export type V1ServiceAccount = Wire<k8s.V1ServiceAccount>;
export type V1PersistentVolume = Wire<k8s.V1PersistentVolume>;
export type V1PersistentVolumeClaim = Wire<k8s.V1PersistentVolumeClaim>;
export type V1StatefulSet = Wire<k8s.V1StatefulSet>;
export type V1Deployment = Wire<k8s.V1Deployment>;
export type V1Job = Wire<k8s.V1Job>;
export type V1PodDisruptionBudget = Wire<k8s.V1PodDisruptionBudget>;
export type V1Lease = Wire<k8s.V1Lease>;
export type CoreV1Event = Wire<k8s.CoreV1Event>;
export type V1ObjectReference = Wire<k8s.V1ObjectReference>;
export type V1CustomResourceDefinition = Wire<k8s.V1CustomResourceDefinition>;
export type V1Role = Wire<k8s.V1Role>;
export type V1RoleBinding = Wire<k8s.V1RoleBinding>;
export type V1ClusterRole = Wire<k8s.V1ClusterRole>;
export type V1ClusterRoleBinding = Wire<k8s.V1ClusterRoleBinding>;

/** Any Kubernetes object, including custom resources. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export interface ObjectList<T> {
  items: T[];
  resourceVersion: string;
}

/**
 * Enough to address one object: apiVersion+kind+name(+namespace), or a
 * ResourceType spread with name(+namespace), e.g. `{ ...Resources.Pod, namespace, name }`.
 */
export type ObjectRef =
  | { apiVersion: string; kind: string; name: string; namespace?: string }
  | { group: string; version: string; kind: string; plural: string; namespaced: boolean; name: string; namespace?: string };

export const refOf = (obj: KubeObject): { apiVersion: string; kind: string; name: string; namespace?: string } => {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
    throw new Error('object needs apiVersion, kind and metadata.name');
  }
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
};
