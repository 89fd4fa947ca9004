{{- define "keycloak.fullname" -}}
{{- default (printf "%s-%s" .Release.Name .Chart.Name) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "keycloak.labels" -}}
app.kubernetes.io/name: keycloakx
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
