{{- define "kdb-operator.name" -}}kdb-operator{{- end -}}
{{- define "kdb-operator.fullname" -}}{{ .Release.Name }}{{- end -}}
{{- define "kdb-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "kdb-operator.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}
{{- define "kdb-operator.labels" -}}
app.kubernetes.io/name: {{ include "kdb-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "kdb-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kdb-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "kdb-operator.agentNamespaces" -}}
{{- $ns := list .Release.Namespace -}}
{{- range .Values.agent.namespaces -}}{{- if not (has . $ns) -}}{{- $ns = append $ns . -}}{{- end -}}{{- end -}}
{{- join "," $ns -}}
{{- end -}}
{{- define "kdb-operator.leaseName" -}}{{ include "kdb-operator.fullname" . }}-leader{{- end -}}
{{- define "kdb-operator.metricsServiceName" -}}{{ include "kdb-operator.fullname" . }}-metrics{{- end -}}
