{{- define "llamanet.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "llamanet.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* recommended labels; call with (dict "ctx" $ "component" "operator") */}}
{{- define "llamanet.labels" -}}
{{ include "llamanet.selectorLabels" .ctx }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: llamanet
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{- end -}}

{{- define "llamanet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "llamanet.fullname" .) .Values.serviceAccount.name }}
{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "llamanet.watchNamespaces" -}}
{{- if .Values.operator.watchNamespaces -}}{{ toJson .Values.operator.watchNamespaces }}
{{- else -}}{{ toJson (list .Release.Namespace) }}{{- end -}}
{{- end -}}

{{/* the namespaced rules of the operator (a Role per watched namespace, or one ClusterRole) */}}
{{- define "llamanet.rules" -}}
- apiGroups: [llamanet.io]
  resources: [llamanodes]
  verbs: [get, list, watch, patch]
- apiGroups: [llamanet.io]
  resources: [llamanodes/status]
  verbs: [get, patch]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, create, patch]
- apiGroups: [apps]
  resources: [statefulsets/status]
  verbs: [get]
# services: list and delete for the per-pod Services (swarm.podServices) of removed replicas
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, create, patch, delete]
# configmaps: the per-pod addresses the operator publishes (<name>-advertise)
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, create, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get]
# no Secrets: the pods mount them; a missing one is read from the kubelet's FailedMount Events
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch, list]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}


{{/* the namespaces with LlamaNodes of this release's operator (NetworkPolicy, PodMonitor) */}}
{{- define "llamanet.nodeNamespaces" -}}
{{- if eq .Values.operator.scope "cluster" -}}{{ toJson (list .Release.Namespace) }}
{{- else -}}{{ include "llamanet.watchNamespaces" . }}{{- end -}}
{{- end -}}

{{/* the restricted Pod Security contexts (pod, then container) */}}
{{- define "llamanet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "llamanet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities: {drop: [ALL]}
{{- end -}}
