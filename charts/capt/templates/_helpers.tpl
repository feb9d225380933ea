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
