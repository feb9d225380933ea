// Command aws-standin is a Terraform provider that speaks hashicorp/aws's real schema
// (versions 6.25.0, 5.79.0 and 5.33.0, extracted from @cdktf/provider-aws) and plays AWS's
// answers: the shipped templates/aws modules validate, plan, apply and destroy through
// it on one machine. docs/aws.md says what is real and what is simulated.
//
//	aws-standin extract -dir DIR     (npm pack of every pinned package; hack/tools/build.sh runs it)
//	aws-standin extract -tarball provider-aws-21.22.1.tgz -out schema-6.25.0.json.gz
//	aws-standin versions             (the hashicorp/aws versions it serves, one a line)
//	terraform-provider-aws_v5.33.0   (started by OpenTofu or Terraform as a plugin, through a
//	                                  mirror's link of that name: it serves that version)
package main

import (
	"fmt"
	"os"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "extract":
		err = extract(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "versions":
		err = versions()
	default:
		err = serve()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "aws-standin:", err)
		os.Exit(1)
	}
}
