{{/* Names and labels as the upstream chart makes them: a release named like the chart is its full name. */}}
{{- define "mlflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mlflow.fullname" -}}
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

{{- define "mlflow.selectorLabels" -}}
app: {{ include "mlflow.name" . }}
app.kubernetes.io/name: {{ include "mlflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mlflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "mlflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mlflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mlflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mlflow.oidcAuthSecretName" -}}
{{- default (printf "%s-oidc-auth-secret" (include "mlflow.fullname" .)) .Values.oidcAuth.existingSecret.name }}
{{- end }}

{{- define "mlflow.oidcAuthDbSecretName" -}}
{{- default (printf "%s-oidc-auth-db-secret" (include "mlflow.fullname" .)) .Values.oidcAuth.database.postgres.existingSecret.name }}
{{- end }}

{{- define "mlflow.containerImage" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The chart's DB-migration init container takes its image from initImages, never from image. */}}
{{- define "mlflow.migrationImage" -}}
{{- $migration := .Values.initImages.mlflowDbMigration }}
{{- printf "%s:%s" $migration.repository ($migration.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* True (non-empty) when a SQL backend store is configured: the condition of the dbchecker and migration containers. */}}
{{- define "mlflow.sqlBackend" -}}
{{- $store := .Values.backendStore }}
{{- if or $store.postgres.enabled $store.mysql.enabled $store.mssql.enabled .Values.postgresql.enabled .Values.mysql.enabled }}true{{ end }}
{{- end }}

{{/* A list as MLflow's environment takes it: duplicates dropped, "*" alone when present, comma-joined. */}}
{{- define "mlflow.joinHosts" -}}
{{- $items := . | uniq }}
{{- if has "*" $items }}*{{ else }}{{ join "," $items }}{{ end }}
{{- end }}

{{/* MLFLOW_SERVER_ALLOWED_HOSTS: the ingress hosts (when the ingress is on), then serverAllowedHosts. */}}
{{- define "mlflow.serverAllowedHosts" -}}
{{- $hosts := list }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}{{ if .host }}{{ $hosts = append $hosts .host }}{{ end }}{{ end }}
{{- end }}
{{- include "mlflow.joinHosts" (concat $hosts .Values.serverAllowedHosts) }}
{{- end }}

{{/* MLFLOW_SERVER_CORS_ALLOWED_ORIGINS: the ingress origins (https with a TLS section), then corsAllowedOrigins. */}}
{{- define "mlflow.corsAllowedOrigins" -}}
{{- $origins := list }}
{{- if .Values.ingress.enabled }}
{{- $scheme := ternary "https" "http" (not (empty .Values.ingress.tls)) }}
{{- range .Values.ingress.hosts }}{{ if .host }}{{ $origins = append $origins (printf "%s://%s" $scheme .host) }}{{ end }}{{ end }}
{{- end }}
{{- include "mlflow.joinHosts" (concat $origins .Values.corsAllowedOrigins) }}
{{- end }}

{{/* The Service port the Ingress targets: oauth2-proxy's when it is on. */}}
{{- define "mlflow.servicePort" -}}
{{- ternary .Values.oauth2Proxy.listenPort .Values.service.port .Values.oauth2Proxy.enabled }}
{{- end }}

{{/* PGUSER and PGPASSWORD from backendStore.existingDatabaseSecret (env entries). */}}
{{- define "mlflow.databaseCredentials" -}}
{{- $secret := .Values.backendStore.existingDatabaseSecret }}
- name: PGUSER
  valueFrom:
    secretKeyRef:
      name: {{ $secret.name }}
      key: {{ $secret.usernameKey }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret.name }}
      key: {{ $secret.passwordKey }}
{{- end }}
