package workspace

import (
	"slices"
	"strings"
)

// OpenTofu's words for a plan that would destroy a resource instance whose
// lifecycle.prevent_destroy is true (checked with OpenTofu 1.12.6): one error per
// instance, "Resource instance <address> has prevent_destroy set, but the plan calls
// for it to be destroyed.", wrapped at 78 columns. Terraform 1.5 says it otherwise, but
// refuses a variable in prevent_destroy: CAPT's protection needs OpenTofu.
const (
	refusalStart = "Resource instance "
	refusalEnd   = " has prevent_destroy set, but the plan calls for it to be destroyed"
	// refusalSummary is the error's summary, which provider-terraform puts in clear.
	refusalSummary = "Resource instance cannot be destroyed"
)

// maxRefusalDetail bounds the detail read for the addresses of a refusal: far more
// than ProviderMessage keeps for people, so that every address of a plan refusing
// thousands is read, and still bounded.
const maxRefusalDetail = 4 << 20

// Refusal is what a Workspace's failure message says of a plan that would destroy or
// replace resources protected by prevent_destroy.
type Refusal struct {
	// Addresses are the resource instances refused, sorted, each once.
	Addresses []string
	// Complete is false when the detail could not be read whole: more instances may be
	// refused than Addresses lists.
	Complete bool
}

// PreventedDestroy reads a Workspace condition message (provider-terraform's, its
// detail compressed) for a plan refused by prevent_destroy and nothing else; nil when
// it is not one, or when the plan also fails otherwise (lifting the protection would
// not let it through).
func PreventedDestroy(msg string) *Refusal {
	if !strings.Contains(msg, refusalSummary) && !strings.Contains(msg, "prevent_destroy") {
		return nil
	}
	text, whole := expand(msg, maxRefusalDetail)
	// Terraform wraps its lines: one space between words, as the phrases are written.
	text = strings.Join(strings.Fields(text), " ")
	if strings.Count(text, "Error: ") > strings.Count(text, "Error: "+refusalSummary) {
		// The plan fails for another reason too: no approval would let it through.
		return nil
	}
	chunks := strings.Split(text, refusalEnd)
	r := &Refusal{Complete: whole}
	for _, chunk := range chunks[:len(chunks)-1] {
		i := strings.LastIndex(chunk, refusalStart)
		if i < 0 {
			r.Complete = false
			continue
		}
		if address := strings.TrimSpace(chunk[i+len(refusalStart):]); address != "" {
			r.Addresses = append(r.Addresses, address)
		}
	}
	if len(r.Addresses) == 0 {
		if !strings.Contains(text, refusalSummary) {
			return nil
		}
		// The summary without a readable instance: refused, but not which.
		r.Complete = false
	}
	slices.Sort(r.Addresses)
	r.Addresses = slices.Compact(r.Addresses)
	return r
}
