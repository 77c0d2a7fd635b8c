//go:build tools

// Package tools pins the command this module builds and the API packages it reads.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
