package admission

import "testing"

// withConfig is goodControlPlane with a controlPlaneConfig (YAML flow or block, indented
// under it).
func withConfig(cfg string) string {
	return goodControlPlane + "  controlPlaneConfig:\n" + cfg
}

// TestEKSSettingsAdmission: the EKS settings of issue 30 are admitted when well formed and
// refused otherwise, with the field named; those whose change makes EKS replace the
// cluster cannot change once set.
func TestEKSSettingsAdmission(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/ops"
	runCases(t, []admissionCase{
		{name: "every setting", object: withConfig(`
    addons:
    - {name: vpc-cni, conflictResolution: OVERWRITE, serviceAccountRoleARN: "arn:aws:iam::123456789012:role/cni", preserveOnDelete: true}
    access:
      captPrincipalARN: arn:aws:iam::123456789012:role/capt
      bootstrapClusterCreatorAdminPermissions: false
      entries:
      - principalARN: arn:aws:iam::123456789012:role/ops
        accessPolicies:
        - {policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", scope: {type: cluster}}
        - {policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: {type: namespace, namespaces: [team-a, "dev-*"]}}
      - {principalARN: "arn:aws-cn:iam::123456789012:user/path/alice"}
      - {principalARN: "arn:aws:iam::123456789012:role/nodes", type: EC2_LINUX}
    logging: [api, audit, authenticator, controllerManager, scheduler]
    encryption: {keyARN: "arn:aws:kms:eu-west-1:123456789012:key/0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"}
    associateOIDCProvider: true
    podIdentity:
      agent: true
      associations: [{namespace: apps, serviceAccount: reader, roleARN: "arn:aws:iam::123456789012:role/s3"}]
    upgradePolicy: STANDARD
    bootstrapSelfManagedAddons: false
    role: {additionalPolicies: ["arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"], permissionsBoundary: "arn:aws:iam::123456789012:policy/boundary"}
`)},
		{name: "a key the module creates", object: withConfig(`    encryption: {createKey: true}
`)},

		// Access.
		{name: "captPrincipalARN an assumed-role session", object: withConfig(`    access: {captPrincipalARN: "arn:aws:sts::123456789012:assumed-role/capt/session"}
`), wantErr: []string{"spec.controlPlaneConfig.access.captPrincipalARN", "should match"}},
		{name: "entry principal not an ARN", object: withConfig(`    access: {entries: [{principalARN: ops}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].principalARN", "should match"}},
		{name: "entry without principal", object: withConfig(`    access: {entries: [{type: STANDARD}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].principalARN", "Required value"}},
		{name: "entry type unknown", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", type: ADMIN}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].type", "Unsupported value"}},
		{name: "entry twice", object: withConfig(`    access: {entries: [{principalARN: "` + role + `"}, {principalARN: "` + role + `"}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[1]", "Duplicate value"}},
		{name: "entry for CAPT's principal", object: withConfig(`    access: {captPrincipalARN: "` + role + `", entries: [{principalARN: "` + role + `"}]}
`), wantErr: []string{"spec.controlPlaneConfig.access", "may not name captPrincipalARN"}},
		{name: "policies on an EC2 entry", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", type: EC2_LINUX, accessPolicies: [{policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: {type: cluster}}]}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0]", "only be given to an access entry of type STANDARD"}},
		{name: "policy not an access policy", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", accessPolicies: [{policyARN: "arn:aws:iam::aws:policy/AdministratorAccess", scope: {type: cluster}}]}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].accessPolicies[0].policyARN", "should match"}},
		{name: "scope type unknown", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", accessPolicies: [{policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: {type: account}}]}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].accessPolicies[0].scope.type", "Unsupported value"}},
		{name: "namespace scope without namespaces", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", accessPolicies: [{policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: {type: namespace}}]}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].accessPolicies[0].scope", "namespaces must be given with type namespace"}},
		{name: "cluster scope with namespaces", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", accessPolicies: [{policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: {type: cluster, namespaces: [a]}}]}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].accessPolicies[0].scope", "namespaces must be given with type namespace"}},
		{name: "namespace not a name", object: withConfig(`    access: {entries: [{principalARN: "` + role + `", accessPolicies: [{policyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: {type: namespace, namespaces: [Team_A]}}]}]}
`), wantErr: []string{"spec.controlPlaneConfig.access.entries[0].accessPolicies[0].scope.namespaces[0]", "should match"}},

		// Logging.
		{name: "log type unknown", object: withConfig(`    logging: [api, kubelet]
`), wantErr: []string{"spec.controlPlaneConfig.logging[1]", "Unsupported value"}},
		{name: "log type twice", object: withConfig(`    logging: [api, api]
`), wantErr: []string{"spec.controlPlaneConfig.logging[1]", "Duplicate value"}},

		// Encryption.
		{name: "key not a KMS ARN", object: withConfig(`    encryption: {keyARN: "arn:aws:s3:::bucket"}
`), wantErr: []string{"spec.controlPlaneConfig.encryption.keyARN", "should match"}},
		{name: "key and createKey", object: withConfig(`    encryption: {keyARN: "arn:aws:kms:eu-west-1:123456789012:alias/eks", createKey: true}
`), wantErr: []string{"spec.controlPlaneConfig.encryption", "exactly one of keyARN and createKey"}},
		{name: "encryption without a key", object: withConfig(`    encryption: {}
`), wantErr: []string{"spec.controlPlaneConfig.encryption", "exactly one of keyARN and createKey"}},
		{name: "encryption added to a running cluster", object: goodControlPlane,
			update: `controlPlaneConfig: {encryption: {createKey: true}}`},
		{name: "encryption key changed", object: withConfig(`    encryption: {createKey: true}
`), update: `controlPlaneConfig: {encryption: {createKey: null, keyARN: "arn:aws:kms:eu-west-1:123456789012:alias/eks"}}`,
			wantErr: []string{"spec.controlPlaneConfig.encryption", "cannot be changed once set"}},
		{name: "encryption removed", object: withConfig(`    encryption: {createKey: true}
    logging: [api]
`), update: `controlPlaneConfig: {encryption: null}`,
			wantErr: []string{"spec.controlPlaneConfig", "encryption cannot be removed once set"}},

		// Pod Identity.
		{name: "association role not a role", object: withConfig(`    podIdentity: {associations: [{namespace: apps, serviceAccount: reader, roleARN: "arn:aws:iam::123456789012:user/bob"}]}
`), wantErr: []string{"spec.controlPlaneConfig.podIdentity.associations[0].roleARN", "should match"}},
		{name: "association namespace not a name", object: withConfig(`    podIdentity: {associations: [{namespace: Apps, serviceAccount: reader, roleARN: "` + role + `"}]}
`), wantErr: []string{"spec.controlPlaneConfig.podIdentity.associations[0].namespace", "should match"}},
		{name: "association without service account", object: withConfig(`    podIdentity: {associations: [{namespace: apps, roleARN: "` + role + `"}]}
`), wantErr: []string{"spec.controlPlaneConfig.podIdentity.associations[0].serviceAccount", "Required value"}},
		{name: "association twice", object: withConfig(`    podIdentity: {associations: [{namespace: apps, serviceAccount: reader, roleARN: "` + role + `"}, {namespace: apps, serviceAccount: reader, roleARN: "` + role + `"}]}
`), wantErr: []string{"spec.controlPlaneConfig.podIdentity.associations[1]", "Duplicate value"}},

		// Add-ons.
		{name: "conflictResolution unknown", object: withConfig(`    addons: [{name: coredns, conflictResolution: KEEP}]
`), wantErr: []string{"spec.controlPlaneConfig.addons[0].conflictResolution", "Unsupported value"}},
		{name: "add-on role not a role ARN", object: withConfig(`    addons: [{name: vpc-cni, serviceAccountRoleARN: cni}]
`), wantErr: []string{"spec.controlPlaneConfig.addons[0].serviceAccountRoleARN", "should match"}},

		// Upgrade policy and bootstrapSelfManagedAddons.
		{name: "upgrade policy unknown", object: withConfig(`    upgradePolicy: standard
`), wantErr: []string{"spec.controlPlaneConfig.upgradePolicy", "Unsupported value"}},
		{name: "upgrade policy changed", object: withConfig(`    upgradePolicy: EXTENDED
`), update: `controlPlaneConfig: {upgradePolicy: STANDARD}`},
		{name: "bootstrapSelfManagedAddons changed", object: withConfig(`    bootstrapSelfManagedAddons: true
`), update: `controlPlaneConfig: {bootstrapSelfManagedAddons: false}`,
			wantErr: []string{"spec.controlPlaneConfig.bootstrapSelfManagedAddons", "cannot be changed once set"}},
		{name: "bootstrapClusterCreatorAdminPermissions changed", object: withConfig(`    access: {bootstrapClusterCreatorAdminPermissions: false}
`), update: `controlPlaneConfig: {access: {bootstrapClusterCreatorAdminPermissions: true}}`,
			wantErr: []string{"spec.controlPlaneConfig.access.bootstrapClusterCreatorAdminPermissions", "cannot be changed once set"}},
		{name: "bootstrapClusterCreatorAdminPermissions set as the varmap had it", object: goodControlPlane,
			update: `controlPlaneConfig: {access: {bootstrapClusterCreatorAdminPermissions: true}}`},

		// The control plane role.
		{name: "extra policy not a policy ARN", object: withConfig(`    role: {additionalPolicies: ["arn:aws:iam::123456789012:role/x"]}
`), wantErr: []string{"spec.controlPlaneConfig.role.additionalPolicies[0]", "should match"}},
		{name: "too many extra policies", object: withConfig(`    role: {additionalPolicies: [` + policies(20) + `]}
`), wantErr: []string{"spec.controlPlaneConfig.role.additionalPolicies", "must have at most 19 items"}},
		{name: "boundary not a policy ARN", object: withConfig(`    role: {permissionsBoundary: boundary}
`), wantErr: []string{"spec.controlPlaneConfig.role.permissionsBoundary", "should match"}},
	})
}

// TestEKSSettingsTemplateAdmission: a CAPTControlPlaneTemplate carries the same fields,
// validated alike, so a ClusterClass can set them.
func TestEKSSettingsTemplateAdmission(t *testing.T) {
	const tmpl = `
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: CAPTControlPlaneTemplate
spec:
  template:
    spec:
      workspaceTemplateRef: {name: eks}
      controlPlaneConfig:
`
	runCases(t, []admissionCase{
		{name: "settings", object: tmpl + `        logging: [audit]
        access: {captPrincipalARN: "arn:aws:iam::123456789012:role/capt"}
        podIdentity: {agent: true}
        upgradePolicy: EXTENDED
`},
		{name: "log type unknown", object: tmpl + `        logging: [kubelet]
`, wantErr: []string{"spec.template.spec.controlPlaneConfig.logging[0]", "Unsupported value"}},
		{name: "key not a KMS ARN", object: tmpl + `        encryption: {keyARN: key}
`, wantErr: []string{"spec.template.spec.controlPlaneConfig.encryption.keyARN", "should match"}},
	})
}

func policies(n int) string {
	out := ""
	for i := range n {
		if i > 0 {
			out += ", "
		}
		out += `"arn:aws:iam::123456789012:policy/p` + string(rune('a'+i)) + `"`
	}
	return out
}
