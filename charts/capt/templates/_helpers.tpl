{{- define "capt.fullname" -}}
{{- printf "%s-capt" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "capt.labels" -}}
cluster.x-k8s.io/provider: infrastructure-capt
app.kubernetes.io/name: capt
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The ServiceAccount the manager runs as: the chart's, or an existing one. */}}
{{- define "capt.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "capt.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false: the existing ServiceAccount the manager runs as" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Where awsCredentials' Secret is mounted; AWS_SHARED_CREDENTIALS_FILE names its file. */}}
{{- define "capt.awsCredentialsDir" -}}/etc/capt/aws{{- end -}}
