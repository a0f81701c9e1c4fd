{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "regentra-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "regentra-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "regentra-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "regentra-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "regentra-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "regentra-gateway.labels" -}}
helm.sh/chart: {{ include "regentra-gateway.chart" . }}
{{ include "regentra-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "regentra-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "regentra-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The gateway configuration file. Listeners, store, keys and dataDir are set here;
the rest comes from .Values.gateway. Secrets appear only as ${ENV} references
(filled from Secrets by the Deployment's env) or file: paths (the secrets volume).
*/}}
{{- define "regentra-gateway.config" -}}
# Rendered by the regentra-gateway chart. Secrets are references, never values.
server:
  host: 0.0.0.0
  port: {{ .Values.containerPorts.http }}
  {{- with .Values.gateway.server }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
ops:
  # probes and scrapes come from outside the pod
  host: 0.0.0.0
  port: {{ .Values.containerPorts.ops }}
dataDir: /data
store:
{{- if eq .Values.store.driver "postgres" }}
  driver: postgres
  url: "${DATABASE_URL}"
  {{- with .Values.store.postgres.schema }}
  schema: {{ . | quote }}
  {{- end }}
  pool:
    {{- toYaml .Values.store.postgres.pool | nindent 4 }}
{{- else }}
  driver: sqlite
  path: /data/regentra.db
{{- end }}
keys:
  session:
  {{- range $i, $ref := .Values.secrets.sessionKeys }}
    - "${REGENTRA_SESSION_KEY_{{ $i }}}"
  {{- end }}
  signing:
  {{- range $i, $key := .Values.secrets.signingKeys }}
    - privateKey: "file:{{ $.Values.secrets.mountPath }}/signing-{{ $i }}.pem"
      alg: {{ $key.alg | default "ES256" }}
      {{- with $key.kid }}
      kid: {{ . | quote }}
      {{- end }}
  {{- end }}
  encryption:
  {{- range $i, $key := .Values.secrets.encryptionKeys }}
    - id: {{ $key.id | quote }}
      key: "${REGENTRA_ENCRYPTION_KEY_{{ $i }}}"
  {{- end }}
{{ toYaml (omit .Values.gateway "server") }}
{{- end }}

{{/* An environment variable read from a Secret: dict "env" NAME "ref" {name, key}. */}}
{{- define "regentra-gateway.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name | quote }}
      key: {{ .ref.key | quote }}
{{- end }}

{{/* One Ingress rule sending a host to the gateway: dict "host" HOST "root" $. */}}
{{- define "regentra-gateway.ingressRule" -}}
- host: {{ .host | quote }}
  http:
    paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: {{ include "regentra-gateway.fullname" .root }}
            port:
              name: http
{{- end }}
