package admission

import "testing"

// TestAdoptionAdmission: spec.adopt names the Terraform state a Workspace uses, so it
// cannot be added, removed or renamed once the object exists (another state would make
// Terraform create everything again); its deletionPolicy defaults to Retain and may change.
func TestAdoptionAdmission(t *testing.T) {
	const apply = `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: WorkspaceTemplateApply
spec:
  templateRef: {name: vpc}
`
	const adopting = apply + `  adopt: {terraformWorkspace: team-vpc}
`
	runCases(t, []admissionCase{
		{name: "adopting", object: adopting},
		{name: "terraformWorkspace required", object: apply + "  adopt: {deletionPolicy: Retain}\n",
			wantErr: []string{"spec.adopt.terraformWorkspace", "Required value"}},
		{name: "terraformWorkspace not a name", object: apply + "  adopt: {terraformWorkspace: \"a/b\"}\n",
			wantErr: []string{"spec.adopt.terraformWorkspace", "should match"}},
		{name: "unknown deletionPolicy", object: apply + "  adopt: {terraformWorkspace: w, deletionPolicy: Orphan}\n",
			wantErr: []string{"spec.adopt.deletionPolicy", "Unsupported value"}},
		{name: "renamed", object: adopting, update: "adopt: {terraformWorkspace: other}\n",
			wantErr: []string{"spec.adopt.terraformWorkspace", "cannot change"}},
		{name: "removed", object: adopting, update: "adopt: null\n", wantErr: []string{"spec.adopt cannot be added or removed"}},
		{name: "added", object: apply, update: "adopt: {terraformWorkspace: team-vpc}\n", wantErr: []string{"spec.adopt cannot be added or removed"}},
		{name: "deletionPolicy changed", object: adopting, update: "adopt: {deletionPolicy: Delete}\n"},
		{name: "control plane renamed", object: goodControlPlane + "  adopt: {terraformWorkspace: team-eks}\n",
			update: "adopt: {terraformWorkspace: other}\n", wantErr: []string{"spec.adopt.terraformWorkspace", "cannot change"}},
		{name: "control plane adopt added", object: goodControlPlane, update: "adopt: {terraformWorkspace: team-eks}\n",
			wantErr: []string{"spec.adopt cannot be added or removed"}},
	})
}
