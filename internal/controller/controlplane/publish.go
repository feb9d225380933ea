package controlplane

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/endpoint"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/workspace"
)

// The publisher turns the Workspace's outputs into the contract's secrets: it decides
// where the kubeconfig's credentials come from, keeps or mints the EKS token (token.go)
// and writes the secrets (secrets.go). It returns what it found; the scope holds that for
// status.go, and reconcileNormal takes the requeue from it. The calls go one way:
// token.go reads the identity Secret with secrets.go's reader, secrets.go calls neither.

// published is what the publisher found in one pass.
type published struct {
	// checked says every secret was written or verified; problem is then what keeps
	// them from being right, or nil. A publisher that failed on the way (the pass's
	// error) checked nothing: SecretsReady is Unknown, and the credentials it had
	// decided before still say where the kubeconfig comes from.
	checked bool
	problem *observed.Problem

	// kubeconfig is where the published kubeconfig's credentials come from (the
	// module's kubeconfig, or an EKS token and the identity that signs it), nil when the
	// publisher did not get to decide it. tokenProblem is then what keeps the token from
	// being current, or nil; eksName is the EKS cluster name tokens are signed for, and
	// tokenInterval how often they are replaced.
	kubeconfig    *controlplanev1.KubeconfigStatus
	tokenProblem  *observed.Problem
	eksName       string
	tokenInterval time.Duration

	// refreshAt is when the next pass must replace the token, zero when no timer is
	// needed.
	refreshAt time.Time
	// retry says nothing CAPT watches will end what keeps the secrets or the token from
	// being right (the API server refused a secret, no token could be minted): only a
	// pass after the error interval can.
	retry bool
}

// publish writes the contract's secrets from the outputs. With a module kubeconfig it
// writes it and the CA. Otherwise (EKS) it writes <cluster>-kubeconfig with a token CAPT
// mints and refreshes, the CA, and <cluster>-user-kubeconfig with the exec user for
// people. region is the CAPTCluster's, "" without one.
func (r *Reconciler) publish(ctx context.Context, cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster,
	outputs workspace.Outputs, ws *workspace.Workspace, connection *corev1.Secret, region string) (published, error) {
	if prob := secretOutputsProblem(outputs, ws, connection); prob != nil {
		return published{checked: true, problem: prob}, nil
	}
	moduleKubeconfig, caPEM, prob := desiredSecrets(outputs)
	if prob != nil {
		return published{checked: true, problem: prob}, nil
	}
	owner := *metav1.NewControllerRef(cp, controlplanev1.GroupVersion.WithKind("CAPTControlPlane"))
	secret := func(name string, data map[string][]byte) *corev1.Secret {
		return kubeconfig.Secret(cluster.Namespace, name, cluster.Name, owner, data)
	}
	ca := secretWrite{secret: secret(kubeconfig.CASecretName(cluster.Name), map[string][]byte{kubeconfig.CertificateKey: caPEM})}
	if moduleKubeconfig != nil {
		p := published{kubeconfig: &controlplanev1.KubeconfigStatus{Source: controlplanev1.KubeconfigSourceModule}}
		kc := secretWrite{secret: secret(kubeconfig.SecretName(cluster.Name), map[string][]byte{kubeconfig.KubeconfigKey: moduleKubeconfig})}
		prob, refused, err := r.reconcileSecrets(ctx, cp, kc, ca)
		if err != nil {
			return p, err
		}
		p.checked, p.problem, p.retry = true, prob, refused
		return p, nil
	}

	eksName := eksClusterName(outputs, cluster)
	ep := cp.Spec.ControlPlaneEndpoint
	if region == "" {
		// No CAPTCluster (a Cluster without infrastructure): EKS endpoints name theirs,
		// else the manager's own region, as `aws eks get-token` would take it.
		region = cmp.Or(endpointRegion(ep.Host), r.DefaultRegion)
	}
	server := endpoint.URL(ep.Host, ep.Port)
	userData, err := kubeconfig.Build(cluster.Name, server, caPEM, kubeconfig.EKSUser(eksName, region))
	if err != nil {
		// Retried as a refused write.
		return published{checked: true, problem: &observed.Problem{Reason: controlplanev1.SecretsNotReadyReason, Message: err.Error()}, retry: true}, nil //nolint:nilerr // a kubeconfig that does not encode is the condition
	}
	// The CA and the people's kubeconfig need no token: they are written even when no
	// token can be minted.
	writes := []secretWrite{ca, {secret: secret(kubeconfig.UserSecretName(cluster.Name), map[string][]byte{kubeconfig.KubeconfigKey: userData})}}

	id, idProblem, err := r.resolveIdentity(ctx, cp)
	if err != nil {
		return published{}, err
	}
	p := published{kubeconfig: &controlplanev1.KubeconfigStatus{Source: controlplanev1.KubeconfigSourceEKSToken, Identity: id.name},
		tokenProblem: idProblem, eksName: eksName, tokenInterval: r.tokenRefreshInterval()}
	if region == "" && p.tokenProblem == nil {
		p.tokenProblem = &observed.Problem{Reason: controlplanev1.TokenMintFailedReason, Message: "No region to sign a token for: no CAPTCluster spec.region, no EKS endpoint, no AWS_REGION in the manager"}
	}
	have, err := r.publishedKubeconfig(ctx, cp, cluster.Name)
	if err != nil {
		return p, err
	}
	var tok eksToken
	if p.tokenProblem == nil {
		tok, p.tokenProblem = r.token(ctx, cp, have, id, eksName, region)
	}
	if p.tokenProblem == nil {
		data, err := eksKubeconfig(cluster.Name, server, caPEM, tok.value)
		if err != nil {
			// Retried as a refused write.
			p.checked, p.problem, p.retry = true, &observed.Problem{Reason: controlplanev1.SecretsNotReadyReason, Message: err.Error()}, true
			return p, nil //nolint:nilerr // a kubeconfig that does not encode is the condition
		}
		kc := secret(kubeconfig.SecretName(cluster.Name), data)
		kc.Annotations = map[string]string{tokenForAnnotation: tokenFor(eksName, id)}
		// A refreshed token is the timer's one write, not news: no event.
		writes = append([]secretWrite{{secret: kc, quiet: tok.minted}}, writes...)
	}
	prob, refused, err := r.reconcileSecrets(ctx, cp, writes...)
	if err != nil {
		return p, err
	}
	p.checked = true
	// No token could be minted (credentials, the identity Secret, which is not watched,
	// no region): nothing CAPT watches will change that either.
	p.retry = refused || p.tokenProblem != nil
	switch {
	case prob != nil:
		p.problem = prob
	case p.tokenProblem != nil && have == nil:
		// Nothing published yet: the secrets are not all there, for the token's reason.
		p.problem = p.tokenProblem
	default:
		p.refreshAt = tok.refreshAt
	}
	return p, nil
}

// secretOutputsProblem checks what desiredSecrets takes as is: a CA output of another
// JSON type than string (its JSON text can decode as base64 and fail later with a less
// telling message), and the EKS cluster name a built kubeconfig passes to
// `aws eks get-token`, which must be a string that names an EKS cluster.
func secretOutputsProblem(outputs workspace.Outputs, ws *workspace.Workspace, connection *corev1.Secret) *observed.Problem {
	if name, _, ok := outputs.First(controlplanev1.CAOutputs...); ok {
		if t := outputType(ws, connection, name); t != "string" {
			return &observed.Problem{Reason: controlplanev1.CAInvalidReason, Message: fmt.Sprintf("output %s is a JSON %s, want a string", name, t)}
		}
	}
	if _, _, ok := outputs.First(controlplanev1.KubeconfigOutputs...); ok {
		return nil
	}
	if name, value, ok := outputs.First(controlplanev1.ClusterNameOutputs...); ok {
		if t := outputType(ws, connection, name); t != "string" || len(value) > maxEKSNameLength || !eksName.MatchString(value) {
			return &observed.Problem{Reason: controlplanev1.KubeconfigInvalidReason, Message: fmt.Sprintf(
				"output %s is not an EKS cluster name (letters, digits, - and _, at most %d characters) for the kubeconfig's aws eks get-token", name, maxEKSNameLength)}
		}
	}
	return nil
}

// eksName is an EKS cluster name; maxEKSNameLength is EKS's bound on it.
var eksName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]*$`)

const maxEKSNameLength = 100

// desiredSecrets reads the kubeconfig and the CA from the outputs: a kubeconfig output
// is published as is (moduleKubeconfig); without one, CAPT builds the kubeconfig with a
// token it mints (publish).
func desiredSecrets(outputs workspace.Outputs) (moduleKubeconfig, caPEM []byte, prob *observed.Problem) {
	var kubeconfigCA []byte
	if name, value, ok := outputs.First(controlplanev1.KubeconfigOutputs...); ok {
		ca, err := kubeconfig.Validate([]byte(value))
		if err != nil {
			return nil, nil, &observed.Problem{Reason: controlplanev1.KubeconfigInvalidReason, Message: fmt.Sprintf("output %s %s", name, err)}
		}
		moduleKubeconfig, kubeconfigCA = []byte(value), ca
	}
	if name, value, ok := outputs.First(controlplanev1.CAOutputs...); ok {
		ca, err := kubeconfig.ParseCA(value)
		if err != nil {
			return nil, nil, &observed.Problem{Reason: controlplanev1.CAInvalidReason, Message: fmt.Sprintf("output %s %s", name, err)}
		}
		caPEM = ca
	} else if len(kubeconfigCA) > 0 {
		caPEM = kubeconfigCA
	}
	if len(caPEM) == 0 {
		return nil, nil, &observed.Problem{Reason: controlplanev1.CAOutputMissingReason, Message: fmt.Sprintf("no output %v and no kubeconfig output with a CA", controlplanev1.CAOutputs)}
	}
	return moduleKubeconfig, caPEM, nil
}

// eksClusterName is the EKS cluster name from the outputs, or the Cluster's name.
func eksClusterName(outputs workspace.Outputs, cluster *clusterv1.Cluster) string {
	if _, v, ok := outputs.First(controlplanev1.ClusterNameOutputs...); ok {
		return v
	}
	return cluster.Name
}

// endpointRegion is the region of an EKS endpoint host (<id>.<zone>.<region>.eks.amazonaws.com),
// or "".
func endpointRegion(host string) string {
	labels := strings.Split(host, ".")
	if n := len(labels); n >= 5 && strings.Join(labels[n-3:], ".") == "eks.amazonaws.com" {
		return labels[n-4]
	}
	return ""
}

// eksKubeconfig is the data of an EKS cluster's <cluster>-kubeconfig: the token in a
// kubeconfig (`value`, what Cluster API reads), bare (`token-file`), and in a kubeconfig
// that reads that file (`relative`).
func eksKubeconfig(cluster, server string, caPEM []byte, token string) (map[string][]byte, error) {
	value, err := kubeconfig.Build(cluster, server, caPEM, kubeconfig.User{Token: token})
	if err != nil {
		return nil, err
	}
	relative, err := kubeconfig.Build(cluster, server, caPEM, kubeconfig.User{TokenFile: "./" + kubeconfig.TokenFileKey})
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		kubeconfig.KubeconfigKey: value,
		kubeconfig.RelativeKey:   relative,
		kubeconfig.TokenFileKey:  []byte(token),
	}, nil
}
