{{/* Names and labels shared by every template. */}}

{{- define "etnik.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: <fullname>-<component>. Call with (list $ "name"). */}}
{{- define "etnik.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "etnik.fullname" $root) (index . 1) -}}
{{- end -}}

{{- define "etnik.kafkaName" -}}
{{- printf "%s-kafka" (include "etnik.fullname" .) -}}
{{- end -}}

{{- define "etnik.mongodbName" -}}
{{- printf "%s-mongodb" (include "etnik.fullname" .) -}}
{{- end -}}

{{- define "etnik.commonLabels" -}}
app.kubernetes.io/part-of: etnik
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component. Call with (list $ "name"). */}}
{{- define "etnik.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: etnik
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "etnik.labels" -}}
{{ include "etnik.commonLabels" (index . 0) }}
{{ include "etnik.selectorLabels" . }}
app.kubernetes.io/version: {{ (index . 0).Chart.AppVersion | quote }}
{{- end -}}

{{/* Image of one service: [<registry>/]etnik-<name>:<tag>, as docker-compose.yml names it. */}}
{{- define "etnik.serviceImage" -}}
{{- $root := index . 0 -}}
{{- $repository := printf "etnik-%s" (index . 1) -}}
{{- with $root.Values.image.registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}{{ end -}}
{{- printf "%s:%s" $repository (default $root.Chart.AppVersion $root.Values.image.tag) -}}
{{- end -}}

{{/* A value that may contain templates (Secret names). Call with (dict "value" v "root" $ "user" u). */}}
{{- define "etnik.tpl" -}}
{{- tpl .value (merge (dict "user" (default "" .user)) .root) -}}
{{- end -}}

{{- define "etnik.kafkaBootstrapServers" -}}
{{- if .Values.kafka.create -}}
{{- printf "%s-kafka-bootstrap:9092" (include "etnik.kafkaName" .) -}}
{{- else -}}
{{- required "kafka.bootstrapServers is required when kafka.create is false" .Values.kafka.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{/*
The most replicas a consumer service may have: kafka.partitions, which every topic that a
service may consume (all but the dead-letter topics) must have, so that no replica is left
without a partition whatever topics its group subscribes to.
*/}}
{{- define "etnik.maxConsumerReplicas" -}}
{{- range include "etnik.kafkaTopics" . | fromJsonArray -}}
{{- if and (not (hasSuffix ".deadletter.v1" .name)) (lt (int .partitions) (int $.Values.kafka.partitions)) -}}
{{- fail (printf "topic %s has %v partitions, fewer than kafka.partitions (%v)" .name .partitions $.Values.kafka.partitions) -}}
{{- end -}}
{{- end -}}
{{- .Values.kafka.partitions -}}
{{- end -}}

{{/*
Every topic of the platform as a JSON list of {name, partitions, config}: the definition in
files/topics.json (generated from etnik.common.topics by `make specs`), with this cluster's
overrides from values (kafka.retention: a profile's settings; kafka.topics: a topic's
partitions or settings) and kafka.minInsyncReplicas.
*/}}
{{- define "etnik.kafkaTopics" -}}
{{- $kafka := .Values.kafka -}}
{{- $defined := .Files.Get "files/topics.json" | fromJson -}}
{{- if not $defined.topics -}}{{- fail "files/topics.json is missing: run `make specs`" -}}{{- end -}}
{{- $topics := list -}}
{{- range $topic := $defined.topics -}}
{{- $profile := index $defined.retention $topic.retention -}}
{{- if not $profile -}}{{- fail (printf "topic %s: no retention profile %q" $topic.name $topic.retention) -}}{{- end -}}
{{- $override := index ($kafka.topics | default dict) $topic.name | default dict -}}
{{- $config := merge (dict) ($override.config | default dict) (index ($kafka.retention | default dict) $topic.retention | default dict) $profile (dict "min.insync.replicas" (toString $kafka.minInsyncReplicas)) -}}
{{- $partitions := $override.partitions | default $topic.partitions | default $kafka.partitions -}}
{{- $topics = append $topics (dict "name" $topic.name "partitions" (int $partitions) "config" $config) -}}
{{- end -}}
{{- toJson $topics -}}
{{- end -}}

{{- define "etnik.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "etnik.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{/* Scrape annotations for pods when no ServiceMonitor is used. Call with (list $ port). */}}
{{- define "etnik.scrapeAnnotations" -}}
{{- $root := index . 0 -}}
{{- if and $root.Values.monitoring.scrapeAnnotations (not $root.Values.monitoring.serviceMonitor.enabled) }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ index . 1 | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* The settings of one service, as ConfigMap data. Call with (list $ "name"). */}}
{{- define "etnik.serviceConfig" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $service := index $root.Values.services $name -}}
{{- $env := dict
  "ENVIRONMENT" $root.Values.environment
  "LOG_LEVEL" $root.Values.logLevel
  "SERVICE_NAME" $name
  "KAFKA_BOOTSTRAP_SERVERS" (include "etnik.kafkaBootstrapServers" $root)
  "MONGODB_DATABASE" (printf "etnik_%s" $name)
  "REGISTRATION_URL" (printf "http://%s:8000" (include "etnik.componentName" (list $root "registration")))
  "NOTIFICATION_URL" (printf "http://%s:8000" (include "etnik.componentName" (list $root "notification")))
  "CONTENT_URL" (printf "http://%s:8000" (include "etnik.componentName" (list $root "content")))
  "REPORTING_URL" (printf "http://%s:8000" (include "etnik.componentName" (list $root "reporting")))
  "PUBLIC_BASE_URL" $root.Values.publicBaseUrl
  "KAFKA_TOPIC_PARTITIONS" (toString $root.Values.kafka.partitions)
  "KAFKA_REPLICATION_FACTOR" (toString $root.Values.kafka.replicationFactor)
  "KAFKA_MANAGE_TOPIC_CONFIGS" (toString (not $root.Values.kafka.create))
-}}
{{- if eq $name "registration" -}}
{{- $_ := set $env "JWT_PRIVATE_KEY_FILE" "/run/secrets/etnik/jwt-private.pem" -}}
{{- $previous := list -}}
{{- range $index, $key := $root.Values.secrets.jwtSigningKey.previousKeys -}}
{{- $previous = append $previous (printf "/run/secrets/etnik/jwt-previous-%d.pem" $index) -}}
{{- end -}}
{{- if $previous -}}
{{- $_ := set $env "JWT_PREVIOUS_KEY_FILES" (toJson $previous) -}}
{{- end -}}
{{- end -}}
{{- if eq $name "notification" -}}
{{- $_ := set $env "SMTP_HOST" $root.Values.smtp.host -}}
{{- $_ := set $env "SMTP_PORT" (toString $root.Values.smtp.port) -}}
{{- $_ := set $env "SMTP_STARTTLS" (toString $root.Values.smtp.starttls) -}}
{{- $_ := set $env "SMTP_IMPLICIT_TLS" (toString $root.Values.smtp.implicitTls) -}}
{{- $_ := set $env "MAIL_FROM" $root.Values.smtp.mailFrom -}}
{{- end -}}
{{- range $key, $value := $service.extraEnv -}}
{{- $_ := set $env $key (toString $value) -}}
{{- end -}}
{{- range $key := keys $env | sortAlpha }}
{{ $key }}: {{ index $env $key | quote }}
{{- end -}}
{{- end -}}

{{/* Where MONGODB_URL comes from: the operator's connection-string Secret, or yours. */}}
{{- define "etnik.mongodbUrlSecretRef" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- if $root.Values.mongodb.create -}}
name: {{ include "etnik.tpl" (dict "value" $root.Values.mongodb.connectionStringSecret "root" $root "user" $name) }}
key: connectionString.standard
{{- else -}}
{{- $external := index $root.Values.mongodb.externalUrlSecrets $name -}}
name: {{ required (printf "mongodb.externalUrlSecrets.%s.name is required when mongodb.create is false" $name) $external.name }}
key: {{ $external.key }}
{{- end -}}
{{- end -}}

{{/* The gateway's main nginx.conf: the image's layout, with every writable path in /tmp. */}}
{{- define "etnik.gatewayMainConfig" -}}
# Rendered by the etnik chart. The server itself is conf.d/default.conf, rendered at start
# from deploy/gateway/templates/default.conf.template by the image's entrypoint.
worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;

    # The root filesystem is read-only: request bodies and buffered answers go to /tmp.
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
{{- with .Values.gateway.trustedProxyCIDRs }}

    # The proxies in front of the gateway: only their X-Forwarded-For names the client, so
    # that rate limits and logs see the client and not the proxy.
{{- range . }}
    set_real_ip_from {{ . }};
{{- end }}
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
{{- end }}

    include /etc/nginx/conf.d/*.conf;
}
{{- end -}}

{{/* The MongoDB users the chart declares: one per service, and the backup user if enabled. */}}
{{- define "etnik.mongodbUsers" -}}
{{- $users := list "registration" "notification" "content" "reporting" -}}
{{- if .Values.backup.enabled }}{{ $users = append $users "backup" }}{{ end -}}
{{- toJson $users -}}
{{- end -}}
