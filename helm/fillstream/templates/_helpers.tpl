{{/* Names and labels. */}}
{{- define "fillstream.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fillstream.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "decide"). */}}
{{- define "fillstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fillstream.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fillstream.labels" -}}
{{ include "fillstream.selectorLabels" . }}
app.kubernetes.io/part-of: fillstream
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "fillstream.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if eq $tag "latest" }}{{ fail "image.tag: pin a version, not latest" }}{{ end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Where the mounted files are; the <NAME>_FILE variables point here. */}}
{{- define "fillstream.configDir" -}}/etc/fillstream{{- end }}
{{- define "fillstream.venueKeysDir" -}}/var/run/secrets/fillstream/venues{{- end }}
{{- define "fillstream.tokensDir" -}}/var/run/secrets/fillstream/operator{{- end }}

{{/* A URL from the value, or from an existing Secret when urlSecret names one. */}}
{{- define "fillstream.urlEnv" -}}
- name: {{ .name }}
{{- if .cfg.urlSecret.name }}
  valueFrom:
    secretKeyRef:
      name: {{ .cfg.urlSecret.name }}
      key: {{ required (printf "%s.urlSecret.key is required with urlSecret.name" .what) .cfg.urlSecret.key }}
{{- else }}
  value: {{ required (printf "%s.url (or %s.urlSecret) is required" .what .what) .cfg.url | quote }}
{{- end }}
{{- end }}

{{/* The environment every fillstream process gets. */}}
{{- define "fillstream.commonEnv" -}}
{{- $v := .root.Values -}}
- name: FILLSTREAM_BUS
  value: kafka
- name: KAFKA_BROKERS
  value: {{ required "kafka.brokers is required" $v.kafka.brokers | quote }}
- name: FILLSTREAM_TOPIC_PREFIX
  value: {{ $v.kafka.topicPrefix | quote }}
{{- with $v.kafka.schemaRegistryUrl }}
- name: SCHEMA_REGISTRY_URL
  value: {{ . | quote }}
{{- end }}
- name: FILLSTREAM_DATA_DIR
  value: /data
- name: FILLSTREAM_LOG_LEVEL
  value: {{ $v.observability.logLevel | quote }}
{{- with $v.observability.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: fillstream-{{ .component }}
{{- end }}

{{/* HTTP probes on a named container port: liveness /healthz, readiness /readyz. */}}
{{- define "fillstream.probes" -}}
{{- $p := .root.Values.probes -}}
startupProbe:
  httpGet: { path: /healthz, port: {{ .port }} }
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  httpGet: { path: /healthz, port: {{ .port }} }
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  httpGet: { path: /readyz, port: {{ .port }} }
  {{- toYaml $p.readiness | nindent 2 }}
{{- end }}

{{/* Replicas of a stage: `partitions` unless set, and never more (an extra consumer gets no partition). */}}
{{- define "fillstream.stageReplicas" -}}
{{- $parts := int .root.Values.partitions }}
{{- if lt $parts 1 }}{{ fail "partitions must be at least 1" }}{{ end }}
{{- $want := .cfg.replicas | default $parts | int }}
{{- if gt $want $parts }}
{{- fail (printf "stages.%s.replicas (%d) is more than partitions (%d): the extra consumers would sit idle" .component $want $parts) }}
{{- end }}
{{- $want }}
{{- end }}

{{- define "fillstream.configChecksum" -}}
{{- toJson (dict "policy" .Values.config.policy "venues" .Values.config.venues) | sha256sum }}
{{- end }}

{{/*
One Deployment of a fillstream process: (dict "root" $ "component" NAME "replicas" N "args" LIST
"portName" NAME "port" N "resources" MAP "env" YAML "volumes" YAML "mounts" YAML "recreate" BOOL
"checksum" BOOL: roll on a config change).
*/}}
{{- define "fillstream.deployment" -}}
{{- $v := .root.Values }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "fillstream.fullname" .root }}-{{ .component }}
  labels:
    {{- include "fillstream.labels" . | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  {{- if .recreate }}
  # A sink is the single writer of its store: never two at once, not even during a rollout.
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "fillstream.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "fillstream.selectorLabels" . | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or .checksum $v.podAnnotations }}
      annotations:
        {{- if .checksum }}
        # A change of the policy or venues file rolls the pods that read it at start.
        checksum/config: {{ include "fillstream.configChecksum" .root }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      # fillstream never calls the Kubernetes API.
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "fillstream.image" .root | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          env:
            {{- include "fillstream.commonEnv" . | nindent 12 }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
          {{- include "fillstream.probes" (dict "root" .root "port" .portName) | nindent 10 }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            - { name: data, mountPath: /data }
            - { name: tmp, mountPath: /tmp }
            {{- with .mounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        # Local state only (market manifest, the simulated venue's journal): the log is Kafka.
        - { name: data, emptyDir: {} }
        - { name: tmp, emptyDir: {} }
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* A Service for one component's port, headless for the stages so each pod is scraped. */}}
{{- define "fillstream.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "fillstream.fullname" .root }}-{{ .component }}
  labels:
    {{- include "fillstream.labels" . | nindent 4 }}
    fillstream.io/scrape: "true"
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if .headless }}
  clusterIP: None
  {{- else }}
  type: {{ .type }}
  {{- end }}
  selector:
    {{- include "fillstream.selectorLabels" . | nindent 4 }}
  ports:
    - name: {{ .portName }}
      port: {{ .servicePort }}
      targetPort: {{ .portName }}
      protocol: TCP
{{- end }}
