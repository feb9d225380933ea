// Package kubeconfig builds the secrets the Cluster API contract asks a control plane
// provider for: <cluster>-kubeconfig and <cluster>-ca. Pure functions.
package kubeconfig

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// Keys and type of the contract's secrets.
const (
	// KubeconfigKey is the data key of <cluster>-kubeconfig.
	KubeconfigKey = "value"
	// TokenFileKey holds the bare bearer token of an EKS cluster's <cluster>-kubeconfig,
	// and RelativeKey a kubeconfig that reads it from ./token-file: for consumers that
	// mount the secret and reload the file (cluster-autoscaler), as CAPA writes it.
	TokenFileKey = "token-file"
	RelativeKey  = "relative"
	// CertificateKey is the data key of the CA certificate in <cluster>-ca.
	CertificateKey = corev1.TLSCertKey
	// SecretType is the type Cluster API gives its secrets.
	SecretType corev1.SecretType = clusterv1.ClusterSecretType
)

// SecretName is <cluster>-kubeconfig.
func SecretName(cluster string) string { return cluster + "-kubeconfig" }

// CASecretName is <cluster>-ca.
func CASecretName(cluster string) string { return cluster + "-ca" }

// UserSecretName is <cluster>-user-kubeconfig: the kubeconfig for people, with an exec
// user, as Cluster API's EKS providers name it.
func UserSecretName(cluster string) string { return cluster + "-user-kubeconfig" }

// ParseCA accepts a PEM certificate, or its base64 encoding (as EKS's
// certificate_authority data is), and returns the PEM.
func ParseCA(value string) ([]byte, error) {
	data := []byte(strings.TrimSpace(value))
	if len(data) == 0 {
		return nil, errors.New("is empty")
	}
	if !strings.HasPrefix(string(data), "-----BEGIN") {
		decoded, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			return nil, errors.New("is neither PEM nor base64-encoded PEM")
		}
		data = decoded
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("holds no PEM CERTIFICATE block")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, errors.New("holds a certificate that does not parse")
	}
	return pem.EncodeToMemory(block), nil
}

// ExecUser runs a command that prints an ExecCredential, such as `aws eks get-token`.
type ExecUser struct {
	Command string
	Args    []string
}

// User is how a kubeconfig authenticates: one of an exec plugin, a bearer token, or a
// file holding one.
type User struct {
	Exec      *ExecUser
	Token     string
	TokenFile string
}

// EKSUser is the exec user of an EKS cluster for people: aws eks get-token mints
// 15-minute tokens on the client, with the person's own credentials.
func EKSUser(eksClusterName, region string) User {
	args := []string{"eks", "get-token", "--cluster-name", eksClusterName}
	if region != "" {
		args = append(args, "--region", region)
	}
	return User{Exec: &ExecUser{Command: "aws", Args: args}}
}

// Build returns a kubeconfig for cluster at server, trusting caPEM, as user.
func Build(cluster, server string, caPEM []byte, user User) ([]byte, error) {
	userName := cluster + "-admin"
	contextName := userName + "@" + cluster
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	auth := &clientcmdapi.AuthInfo{Token: user.Token, TokenFile: user.TokenFile}
	if user.Exec != nil {
		auth.Exec = &clientcmdapi.ExecConfig{
			APIVersion:      "client.authentication.k8s.io/v1beta1",
			Command:         user.Exec.Command,
			Args:            user.Exec.Args,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
	}
	cfg.AuthInfos[userName] = auth
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: userName}
	cfg.CurrentContext = contextName
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding kubeconfig: %w", err)
	}
	return out, nil
}

// Validate checks that a kubeconfig from a module output loads and names a current
// context with a cluster; it returns that cluster's CA, if any.
func Validate(data []byte) (caPEM []byte, err error) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return nil, errors.New("does not load as a kubeconfig")
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, errors.New("has no current context")
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok || cluster.Server == "" {
		return nil, errors.New("has no server for its current context")
	}
	return cluster.CertificateAuthorityData, nil
}

// Secret returns one of the contract's secrets for cluster, controlled by owner.
func Secret(namespace, name, cluster string, owner metav1.OwnerReference, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       namespace,
			Name:            name,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: cluster},
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Type: SecretType,
		Data: data,
	}
}
