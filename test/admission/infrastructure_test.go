package admission

import "testing"

const goodClusterByTemplate = `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec:
  region: us-west-2
  vpcTemplateRef: {name: vpc}
  vpcConfig: {cidr: 10.0.0.0/16}
`

const goodClusterByID = `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec:
  region: ap-northeast-1
  existingVpcId: vpc-0123456789abcdef0
  existingSubnets:
    privateSubnetIds: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]
    publicSubnetIds: [subnet-01234567]
`

func TestCAPTClusterAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "VPC by template", object: goodClusterByTemplate},
		{name: "existing VPC", object: goodClusterByID},
		{name: "GovCloud region", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-gov-west-1, existingVpcId: vpc-01234567, existingSubnets: {privateSubnetIds: [subnet-01234567, subnet-89abcdef]}}
`},
		{name: "existing VPC without subnets", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, existingVpcId: vpc-01234567}
`, wantErr: []string{"spec.existingSubnets is required with spec.existingVpcId"}},
		{name: "subnets without an existing VPC", object: goodClusterByTemplate + `  existingSubnets: {privateSubnetIds: [subnet-01234567, subnet-89abcdef]}`,
			wantErr: []string{"spec.existingSubnets is required with spec.existingVpcId, and only with it"}},
		{name: "one private subnet", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, existingVpcId: vpc-01234567, existingSubnets: {privateSubnetIds: [subnet-01234567]}}
`, wantErr: []string{"spec.existingSubnets.privateSubnetIds", "at least 2 items"}},
		{name: "subnet id pattern", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, existingVpcId: vpc-01234567, existingSubnets: {privateSubnetIds: [subnet-01234567, my-subnet]}}
`, wantErr: []string{"spec.existingSubnets.privateSubnetIds[1]", "should match"}},
		{name: "public subnet id pattern", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, existingVpcId: vpc-01234567, existingSubnets: {privateSubnetIds: [subnet-01234567, subnet-89abcdef], publicSubnetIds: [subnet-XYZ]}}
`, wantErr: []string{"spec.existingSubnets.publicSubnetIds[0]", "should match"}},
		{name: "a private subnet twice", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, existingVpcId: vpc-01234567, existingSubnets: {privateSubnetIds: [subnet-01234567, subnet-01234567]}}
`, wantErr: []string{"spec.existingSubnets.privateSubnetIds[1]", "Duplicate value"}},
		{name: "neither VPC source", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2}
`, wantErr: []string{"spec", "exactly one of spec.vpcTemplateRef and spec.existingVpcId"}},
		{name: "both VPC sources", object: goodClusterByTemplate + `  existingVpcId: vpc-01234567`,
			wantErr: []string{"exactly one of spec.vpcTemplateRef and spec.existingVpcId"}},
		{name: "missing region", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {existingVpcId: vpc-01234567}
`, wantErr: []string{"spec.region", "Required value"}},
		{name: "region pattern", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: US_WEST_2, existingVpcId: vpc-01234567}
`, wantErr: []string{"spec.region", "should match"}},
		{name: "existing VPC id pattern", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, existingVpcId: my-vpc}
`, wantErr: []string{"spec.existingVpcId", "should match"}},
		{name: "VPC template ref without name", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTCluster
spec: {region: us-west-2, vpcTemplateRef: {namespace: templates}}
`, wantErr: []string{"spec.vpcTemplateRef.name", "Required value"}},
		{name: "CIDR not IPv4", object: goodClusterByID + `  vpcConfig: {cidr: "2001:db8::/56"}`,
			wantErr: []string{"spec.vpcConfig.cidr", "IPv4 CIDR"}},
		{name: "CIDR garbage", object: goodClusterByID + `  vpcConfig: {cidr: "10.0.0.0/33"}`,
			wantErr: []string{"spec.vpcConfig.cidr", "IPv4 CIDR"}},
		{name: "endpoint port out of range", object: goodClusterByID + `  controlPlaneEndpoint: {host: example.com, port: 70000}`,
			wantErr: []string{"spec.controlPlaneEndpoint.port"}},
		{name: "region cannot change", object: goodClusterByTemplate, update: `region: us-east-1`,
			wantErr: []string{"spec", "spec.region cannot change"}},
		{name: "existing VPC cannot change", object: goodClusterByID, update: `existingVpcId: vpc-0fedcba9876543210`,
			wantErr: []string{"spec.existingVpcId cannot change"}},
		{name: "private subnets cannot change", object: goodClusterByID, update: `existingSubnets: {privateSubnetIds: [subnet-0123456789abcdef0, subnet-0123456789abcdef2]}`,
			wantErr: []string{"spec.existingSubnets.privateSubnetIds cannot change"}},
		{name: "private subnets in another order admitted", object: goodClusterByID, update: `existingSubnets: {privateSubnetIds: [subnet-0123456789abcdef1, subnet-0123456789abcdef0]}`},
		{name: "public subnets may change", object: goodClusterByID, update: `existingSubnets: {privateSubnetIds: [subnet-0123456789abcdef0, subnet-0123456789abcdef1], publicSubnetIds: [subnet-01234567, subnet-89abcdef]}`},
		{name: "cannot swap to existing VPC", object: goodClusterByTemplate, update: `{vpcTemplateRef: null, existingVpcId: vpc-01234567}`,
			wantErr: []string{"cannot be swapped"}},
		{name: "CIDR cannot change", object: goodClusterByTemplate, update: `vpcConfig: {cidr: 10.1.0.0/16}`,
			wantErr: []string{"spec.vpcConfig.cidr cannot change"}},
		{name: "new VPC template version admitted", object: goodClusterByTemplate, update: `vpcTemplateRef: {name: vpc-v2}`},
		{name: "retention can be turned on", object: goodClusterByTemplate, update: `retainVpcOnDelete: true`},
	})
}

func TestCAPTClusterTemplateAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "VPC source left to a ClusterClass patch", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTClusterTemplate
spec:
  template:
    spec: {region: eu-west-1}
`},
		{name: "existing subnets in a template, the VPC id left to a patch", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTClusterTemplate
spec:
  template:
    spec: {region: eu-west-1, existingSubnets: {privateSubnetIds: [subnet-01234567, subnet-89abcdef]}}
`},
		{name: "subnet pattern in a template", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTClusterTemplate
spec:
  template:
    spec: {region: eu-west-1, existingSubnets: {privateSubnetIds: [subnet-01234567, sub]}}
`, wantErr: []string{"spec.template.spec.existingSubnets.privateSubnetIds[1]"}},
		{name: "region pattern", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTClusterTemplate
spec:
  template:
    spec: {region: "eu west 1"}
`, wantErr: []string{"spec.template.spec.region"}},
	})
}

const goodWorkspaceTemplate = `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    metadata: {labels: {team: platform}}
    spec:
      forProvider:
        source: Inline
        inlineFormat: HCL
        module: |
          output "vpc_id" { value = "vpc-local" }
        vars: [{key: region, value: us-west-2}]
        varmap: {tags: {team: platform}, azs: [a, b]}
        env: [{name: TF_LOG, value: WARN}]
      providerConfigRef: {name: default}
      writeConnectionSecretToRef: {name: vpc-outputs, namespace: default}
`

func TestWorkspaceTemplateAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "good", object: goodWorkspaceTemplate},
		{name: "remote module", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Remote, module: "git::https://example.com/vpc.git?ref=v1", entrypoint: modules/vpc}
      deletionPolicy: Orphan
`},
		{name: "missing module", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline}
`, wantErr: []string{"spec.template.spec.forProvider.module", "Required value"}},
		{name: "unknown source", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: S3, module: x}
`, wantErr: []string{"spec.template.spec.forProvider.source", "Unsupported value"}},
		{name: "inlineFormat on a remote module", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Remote, module: "git::https://example.com/vpc.git", inlineFormat: HCL}
`, wantErr: []string{"spec.template.spec.forProvider", "inlineFormat applies only to source Inline"}},
		{name: "var key not an identifier", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x, vars: [{key: "bad key", value: v}]}
`, wantErr: []string{"spec.template.spec.forProvider.vars[0].key", "should match"}},
		{name: "duplicate var key", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x, vars: [{key: a, value: "1"}, {key: a, value: "2"}]}
`, wantErr: []string{"spec.template.spec.forProvider.vars[1]", "Duplicate value"}},
		{name: "env with value and secret", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider:
        source: Inline
        module: x
        env: [{name: AWS_PROFILE, value: p, secretKeyRef: {namespace: default, name: aws, key: profile}}]
`, wantErr: []string{"spec.template.spec.forProvider.env[0]", "at most one of value, configMapKeyRef and secretKeyRef"}},
		{name: "var file without its reference", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x, varFiles: [{source: SecretKey}]}
`, wantErr: []string{"spec.template.spec.forProvider.varFiles[0]", "secretKeyRef for source SecretKey"}},
		{name: "rollout by count, canaries", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: 3, canarySelector: {matchLabels: {canary: "true"}}, pauseAfterFailures: 2}
`},
		{name: "rollout by percentage", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: "10%"}
`},
		{name: "rollout of no slot", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: 0}
`, wantErr: []string{"spec.rollout.maxConcurrent", "a number from 1 to 1000 or a percentage from 1% to 100%"}},
		{name: "rollout of 0%", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: "0%"}
`, wantErr: []string{"spec.rollout.maxConcurrent", "a number from 1 to 1000"}},
		{name: "rollout of 150%", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: "150%"}
`, wantErr: []string{"spec.rollout.maxConcurrent", "a number from 1 to 1000"}},
		{name: "rollout of words", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: "ten"}
`, wantErr: []string{"spec.rollout.maxConcurrent", "a number from 1 to 1000"}},
		{name: "rollout without a limit", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {canarySelector: {matchLabels: {canary: "true"}}}
`, wantErr: []string{"spec.rollout.maxConcurrent", "Required value"}},
		{name: "rollout that never pauses", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: 1, pauseAfterFailures: 0}
`, wantErr: []string{"spec.rollout.pauseAfterFailures", "greater than or equal to 1"}},
		{name: "canary selector operator", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
  rollout: {maxConcurrent: 1, canarySelector: {matchExpressions: [{key: canary, operator: Equals, values: ["true"]}]}}
`, wantErr: []string{"spec.rollout.canarySelector", "In, NotIn, Exists or DoesNotExist"}},
		{name: "bad deletion policy", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  template:
    spec:
      forProvider: {source: Inline, module: x}
      deletionPolicy: Keep
`, wantErr: []string{"spec.template.spec.deletionPolicy", "Unsupported value"}},
		{name: "protected", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  protection: {variable: capt_protect}
  template:
    spec:
      forProvider: {source: Remote, module: "git::https://example.com/vpc.git?ref=v1"}
`},
		// It becomes -var=<variable>=false: anything but an identifier would be another argument.
		{name: "protection variable not an identifier", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  protection: {variable: "x=true -var=y"}
  template:
    spec:
      forProvider: {source: Inline, module: x}
`, wantErr: []string{"spec.protection.variable", "should match"}},
		{name: "protection without its variable", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplate
spec:
  protection: {}
  template:
    spec:
      forProvider: {source: Inline, module: x}
`, wantErr: []string{"spec.protection.variable", "Required value"}},
	})
}

const goodApply = `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec:
  templateRef: {name: vpc}
  variables: {region: us-west-2, cluster_name: demo, "with-dash": "x"}
  writeConnectionSecretToRef: {name: demo-vpc-outputs}
  waitForSecrets: [{name: aws-credentials, namespace: crossplane-system}]
  waitForWorkspaces: [{name: demo-vpc}]
  retainWorkspaceOnDelete: true
`

func TestWorkspaceTemplateApplyAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "good", object: goodApply},
		{name: "values with quotes, newlines and placeholders admitted as data", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec:
  templateRef: {name: vpc}
  variables: {name: "a\"b\n${var.x}\\"}
`},
		{name: "missing templateRef", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec: {variables: {a: b}}
`, wantErr: []string{"spec.templateRef", "Required value"}},
		{name: "variable name not an identifier", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec:
  templateRef: {name: vpc}
  variables: {"1bad": x}
`, wantErr: []string{"spec.variables", "Terraform identifiers"}},
		{name: "variable name with a quote", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec:
  templateRef: {name: vpc}
  variables: {"a\"b": x}
`, wantErr: []string{"spec.variables", "Terraform identifiers"}},
		{name: "wait for a secret without name", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec:
  templateRef: {name: vpc}
  waitForSecrets: [{namespace: default}]
`, wantErr: []string{"spec.waitForSecrets[0].name", "Required value"}},
	})
}
