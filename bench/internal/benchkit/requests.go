package benchkit

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// Request is one HTTP request a client sent to the API server.
type Request struct {
	At time.Time
	// Verb is Kubernetes' verb: get, list, watch, create, update, patch, delete,
	// deletecollection.
	Verb string
	// Resource is resource[/subresource]; Name is empty for collections.
	Resource, Namespace, Name string
}

// IsWrite says whether the request changes something.
func (r Request) IsWrite() bool {
	switch r.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// Requests records every request sent through the configurations it wraps: every
// client of a manager (its cached client, its API reader, its metadata client), reads
// included, with the time each was sent.
type Requests struct {
	mu  sync.Mutex
	log []Request
}

// Wrap returns a copy of cfg whose requests r records.
func (r *Requests) Wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = transport.Wrappers(cfg.WrapTransport, func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper{rt, r}
	})
	return cfg
}

// Between returns the requests sent in [from, to).
func (r *Requests) Between(from, to time.Time) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, q := range r.log {
		if !q.At.Before(from) && q.At.Before(to) {
			out = append(out, q)
		}
	}
	return out
}

type roundTripper struct {
	next http.RoundTripper
	r    *Requests
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	q := parseRequest(req)
	t.r.mu.Lock()
	t.r.log = append(t.r.log, q)
	t.r.mu.Unlock()
	return t.next.RoundTrip(req)
}

// parseRequest reads the verb and the object from a request's method and path:
// /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]] or the same under
// /apis/<group>/<version>.
func parseRequest(req *http.Request) Request {
	q := Request{At: time.Now()}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		parts = nil
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		q.Namespace, parts = parts[1], parts[2:]
	}
	if len(parts) > 0 {
		q.Resource = parts[0]
	}
	if len(parts) > 1 {
		q.Name = parts[1]
	}
	if len(parts) > 2 {
		q.Resource += "/" + parts[2]
	}
	switch req.Method {
	case http.MethodGet:
		switch {
		case q.Name != "":
			q.Verb = "get"
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			q.Verb = "watch"
		default:
			q.Verb = "list"
		}
	case http.MethodPost:
		q.Verb = "create"
	case http.MethodPut:
		q.Verb = "update"
	case http.MethodPatch:
		q.Verb = "patch"
	case http.MethodDelete:
		q.Verb = "delete"
		if q.Name == "" {
			q.Verb = "deletecollection"
		}
	default:
		q.Verb = strings.ToLower(req.Method)
	}
	return q
}
