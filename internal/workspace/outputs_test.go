package workspace

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// TestOutputsOfEveryType reads outputs of every JSON type, empty and null ones, and a
// connection secret of binary garbage: strings arrive unquoted, other types as JSON
// text, the secret wins, and OutputType tells the types apart.
func TestOutputsOfEveryType(t *testing.T) {
	raw := map[string]string{
		"s": `"https://h"`, "quoted": `"[\"a\"]"`, "n": `443`, "f": `-1.5e3`, "b": `true`, "l": `["a", 1]`,
		"o": `{"a": {"b": null}}`, "z": `null`, "e": `""`, "ctl": `"\u0000\n\u007f"`, "ws": " \n\"x\"",
	}
	w := &Workspace{Status: Status{AtProvider: Observation{Outputs: map[string]apiextensionsv1.JSON{}}}}
	for k, v := range raw {
		w.Status.AtProvider.Outputs[k] = apiextensionsv1.JSON{Raw: []byte(v)}
	}
	w.Status.AtProvider.Outputs["absent"] = apiextensionsv1.JSON{}
	binary := []byte{0xff, 0x00, 0xfe, '\n'}
	out := ReadOutputs(w, &corev1.Secret{Data: map[string][]byte{"n": binary, "secret-only": {}}})

	want := map[string]string{
		"s": "https://h", "quoted": `["a"]`, "n": string(binary), "f": "-1.5e3", "b": "true", "l": `["a", 1]`,
		"o": `{"a": {"b": null}}`, "z": "", "e": "", "ctl": "\x00\n\x7f", "ws": "x", "secret-only": "",
	}
	if len(out) != len(want) {
		t.Errorf("outputs %q, want %q", out, want)
	}
	for k, v := range want {
		if got, ok := out[k]; !ok || got != v {
			t.Errorf("output %s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if _, _, ok := out.First("e", "secret-only", "z", "absent"); ok {
		t.Error("First returned an empty, null or absent output")
	}
	if name, _, ok := out.First("e", "s"); !ok || name != "s" {
		t.Errorf("First = %s, %v; want s", name, ok)
	}

	types := map[string]string{
		"s": "string", "quoted": "string", "n": "number", "f": "number", "b": "boolean", "l": "array",
		"o": "object", "z": "null", "e": "string", "ctl": "string", "ws": "string", "absent": "", "missing": "",
	}
	for k, want := range types {
		if got := w.OutputType(k); got != want {
			t.Errorf("OutputType(%s) = %q, want %q", k, got, want)
		}
	}
}
