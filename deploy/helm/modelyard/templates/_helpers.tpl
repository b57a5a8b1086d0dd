{{- define "modelyard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "modelyard.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "modelyard.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "modelyard.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}{{ printf "%s/%s:%s" .root.Values.image.registry .name $tag }}{{- else -}}{{ printf "%s:%s" .name $tag }}{{- end -}}
{{- end -}}

{{- define "modelyard.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "modelyard.fullname" .)) -}}
{{- end -}}

{{- define "modelyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "modelyard.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The environment api, worker and migrations share: the ConfigMap, then the Secret, then the extras. */}}
{{- define "modelyard.envFrom" -}}
- configMapRef:
    name: {{ include "modelyard.fullname" .root }}-config
- secretRef:
    name: {{ include "modelyard.secretName" .root }}
{{- with .root.Values.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- with .component.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Single secret keys taken from other Secrets (secrets.fromSecrets). Listed under env, they win over the same key
from envFrom.
*/}}
{{- define "modelyard.secretEnv" -}}
{{- range $key, $ref := .Values.secrets.fromSecrets }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key | default $key }}
{{- end }}
{{- end -}}

{{/* The chart's and the component's extraEnv, after the chart's own env (so they may override it). */}}
{{- define "modelyard.extraEnv" -}}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .component.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "modelyard.extraVolumeMounts" -}}
{{- with .root.Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- with .component.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "modelyard.extraVolumes" -}}
{{- with .root.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- with .component.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A pod template's metadata: selector labels, then the chart's and the component's labels and annotations. */}}
{{- define "modelyard.podMetadata" -}}
labels:
  {{- include "modelyard.selector" (dict "root" .root "component" .name) | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with .component.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (dict) (.annotations | default dict) (.component.podAnnotations | default dict) (.root.Values.podAnnotations | default dict) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
What every pod spec of the chart has: its service account (the identity pods only: `identity: true`), the
security context, pull secrets and the component's scheduling.
*/}}
{{- define "modelyard.podSpec" -}}
automountServiceAccountToken: {{ .root.Values.serviceAccount.automountServiceAccountToken }}
{{- if .identity }}
serviceAccountName: {{ include "modelyard.serviceAccountName" .root }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .component.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .component.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .component.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .component.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- $c := deepCopy . }}
  {{- if not $c.labelSelector }}
  {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "modelyard.selector" (dict "root" $.root "component" $.name) | fromYaml)) }}
  {{- end }}
  - {{ toYaml $c | indent 4 | trim }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Only the chart's and the component's extraEnvFrom (the dashboard reads neither the ConfigMap nor the Secret). */}}
{{- define "modelyard.envFromExtras" -}}
{{- with .root.Values.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- with .component.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Pod annotations that roll api and worker pods when their settings change: the ConfigMap's values and, when the
chart makes it, the Secret's.
*/}}
{{- define "modelyard.checksums" -}}
checksum/config: {{ toYaml .Values.config | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secrets: {{ toYaml .Values.secrets.values | sha256sum }}
{{- end }}
{{- end -}}
