package admission

import "testing"

const goodControlPlane = `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlane
spec:
  version: v1.31.2
  workspaceTemplateRef:
    name: eks
`

func TestCAPTControlPlaneAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "minimal", object: goodControlPlane},
		{name: "full", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlane
spec:
  version: "1.31"
  workspaceTemplateRef: {name: eks, namespace: templates}
  controlPlaneConfig:
    endpointAccess: {public: true, private: true, publicCIDRs: ["203.0.113.0/24", "2001:db8::/32"]}
    addons: [{name: vpc-cni, version: v1.18.0}, {name: coredns}]
  additionalTags: {team: platform}
  identityRef: {name: capt-aws-keys}
  controlPlaneEndpoint: {host: abc.gr7.us-west-2.eks.amazonaws.com, port: 443}
`},
		{name: "IPv6 endpoint host", object: goodControlPlane + `  controlPlaneEndpoint: {host: "2001:db8::1", port: 6443}`},
		{name: "missing workspaceTemplateRef", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlane
spec:
  version: v1.31.2
`, wantErr: []string{"spec.workspaceTemplateRef", "Required value"}},
		{name: "empty workspaceTemplateRef name", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlane
spec:
  version: v1.31.2
  workspaceTemplateRef: {name: ""}
`, wantErr: []string{"spec.workspaceTemplateRef.name"}},
		{name: "missing version", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlane
spec:
  workspaceTemplateRef: {name: eks}
`, wantErr: []string{"spec.version", "Required value"}},
		{name: "version not a Kubernetes version", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlane
spec:
  version: latest
  workspaceTemplateRef: {name: eks}
`, wantErr: []string{"spec.version", "should match"}},
		{name: "port 0", object: goodControlPlane + `  controlPlaneEndpoint: {host: example.com, port: 0}`,
			wantErr: []string{"spec.controlPlaneEndpoint.port", "greater than or equal to 1"}},
		{name: "port 65536", object: goodControlPlane + `  controlPlaneEndpoint: {host: example.com, port: 65536}`,
			wantErr: []string{"spec.controlPlaneEndpoint.port", "less than or equal to 65535"}},
		{name: "host is a URL", object: goodControlPlane + `  controlPlaneEndpoint: {host: "https://example.com", port: 443}`,
			wantErr: []string{"spec.controlPlaneEndpoint.host", "not a URL"}},
		{name: "host with a path", object: goodControlPlane + `  controlPlaneEndpoint: {host: "example.com/api", port: 443}`,
			wantErr: []string{"spec.controlPlaneEndpoint.host", "not a URL"}},
		{name: "host too long", object: goodControlPlane + `  controlPlaneEndpoint: {host: "` + longHost(600) + `", port: 443}`,
			wantErr: []string{"spec.controlPlaneEndpoint.host", "may not be more than 512"}},
		{name: "host without port", object: goodControlPlane + `  controlPlaneEndpoint: {host: example.com}`,
			wantErr: []string{"spec.controlPlaneEndpoint", "host and port must be set together"}},
		{name: "endpoint access all off", object: goodControlPlane + `  controlPlaneConfig: {endpointAccess: {public: false, private: false}}`,
			wantErr: []string{"spec.controlPlaneConfig.endpointAccess", "at least one of public and private"}},
		{name: "public CIDR not a CIDR", object: goodControlPlane + `  controlPlaneConfig: {endpointAccess: {publicCIDRs: ["0.0.0.0"]}}`,
			wantErr: []string{"spec.controlPlaneConfig.endpointAccess.publicCIDRs", "CIDR"}},
		{name: "duplicate addon", object: goodControlPlane + `  controlPlaneConfig: {addons: [{name: coredns}, {name: coredns}]}`,
			wantErr: []string{"spec.controlPlaneConfig.addons[1]", "Duplicate value"}},
		{name: "identityRef without a name", object: goodControlPlane + `  identityRef: {}`,
			wantErr: []string{"spec.identityRef.name", "Required value"}},
		{name: "identityRef not a Secret name", object: goodControlPlane + `  identityRef: {name: "../keys"}`,
			wantErr: []string{"spec.identityRef.name", "should match"}},
		{name: "version upgrade admitted", object: goodControlPlane, update: `version: v1.32.0`},
		{name: "upgrade by several minors admitted (CAPT steps it)", object: goodControlPlane, update: `version: "1.34"`},
		{name: "patch change admitted", object: goodControlPlane, update: `version: "1.31"`},
		{name: "minor downgrade refused", object: goodControlPlane, update: `version: v1.30.9`,
			wantErr: []string{"spec.version", "may not be lowered from v1.31.2 to v1.30.9"}},
		{name: "major downgrade refused", object: goodControlPlane, update: `version: "0.99"`,
			wantErr: []string{"spec.version", "may not be lowered", "EKS cannot downgrade"}},
		{name: "unparseable version refused on update", object: goodControlPlane, update: `version: v1.32-rc`,
			wantErr: []string{"spec.version", "should match"}},
		{name: "new template version admitted", object: goodControlPlane, update: `workspaceTemplateRef: {name: eks-v2}`},
		{name: "endpoint cleared on delete admitted", object: goodControlPlane + `  controlPlaneEndpoint: {host: example.com, port: 443}`,
			update: `controlPlaneEndpoint: null`},
	})
}

func TestCAPTControlPlaneTemplateAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "good", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlaneTemplate
spec:
  template:
    spec:
      workspaceTemplateRef: {name: eks}
      controlPlaneConfig: {endpointAccess: {public: true}}
`},
		{name: "missing workspaceTemplateRef", object: `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlaneTemplate
spec:
  template:
    spec: {}
`, wantErr: []string{"spec.template.spec.workspaceTemplateRef", "Required value"}},
	})
}

func longHost(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
		if i%60 == 59 {
			b[i] = '.'
		}
	}
	return string(b)
}
