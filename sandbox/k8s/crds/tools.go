//go:build tools

// Package tools pins the command this module builds and the API packages it reads: the prometheus-operator's
// monitoring.coreos.com types and ECK's Elasticsearch, Kibana, Beat and Logstash types.
package tools

import (
	_ "github.com/elastic/cloud-on-k8s/v3/pkg/apis/beat/v1beta1"
	_ "github.com/elastic/cloud-on-k8s/v3/pkg/apis/elasticsearch/v1"
	_ "github.com/elastic/cloud-on-k8s/v3/pkg/apis/kibana/v1"
	_ "github.com/elastic/cloud-on-k8s/v3/pkg/apis/logstash/v1alpha1"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
