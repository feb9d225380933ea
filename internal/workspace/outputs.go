package workspace

import (
	"bytes"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
)

// Outputs are a Workspace's Terraform outputs as text: the non-sensitive ones from
// status.atProvider.outputs (JSON strings unquoted, other JSON values as JSON text) and
// every one from the connection secret (strings raw, other values as JSON), which wins
// on a shared name.
type Outputs map[string]string

// ReadOutputs merges the status outputs and the connection secret, which may be nil.
func ReadOutputs(w *Workspace, connection *corev1.Secret) Outputs {
	out := Outputs{}
	if w != nil {
		for name, v := range w.Status.AtProvider.Outputs {
			var s string
			if json.Unmarshal(v.Raw, &s) == nil {
				out[name] = s
			} else if len(v.Raw) > 0 && string(v.Raw) != "null" {
				out[name] = string(v.Raw)
			}
		}
	}
	if connection != nil {
		for name, v := range connection.Data {
			out[name] = string(v)
		}
	}
	return out
}

// First returns the first of names that has a non-empty value.
func (o Outputs) First(names ...string) (name, value string, ok bool) {
	for _, n := range names {
		if v := o[n]; v != "" {
			return n, v, true
		}
	}
	return "", "", false
}

// OutputType is the JSON type of a non-sensitive output in the status: "string",
// "number", "boolean", "array", "object" or "null"; "" when there is none. Outputs holds
// values of other types than string as JSON text, so only this tells the list ["a"]
// from the string `["a"]`, or the number 443 from the string "443".
func (w *Workspace) OutputType(name string) string {
	raw, ok := w.Output(name)
	if !ok {
		return ""
	}
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}
