package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/capt-dev/capt/bench/internal/benchkit"
)

// window is a phase of a run.
type window struct{ from, to time.Time }

// counts are numbers by name (verb, controller).
type counts map[string]int

func (c counts) minus(o counts) counts {
	out := counts{}
	for k, v := range c {
		if d := v - o[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// writes counts the requests that change something.
func (c counts) writes() int {
	return c["create"] + c["update"] + c["patch"] + c["delete"] + c["deletecollection"]
}

// total is the sum of the counts.
func (c counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// String lists the counts by name, largest first.
func (c counts) String() string { return benchkit.Counts(c).String() }

// auditEvent is the part of a kube-apiserver audit event the bench reads.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
}

// target is resource[/subresource].
func (e auditEvent) target() string {
	if e.ObjectRef.Subresource != "" {
		return e.ObjectRef.Resource + "/" + e.ObjectRef.Subresource
	}
	return e.ObjectRef.Resource
}

// isWrite says whether verb changes something.
func isWrite(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// requests are one window's requests: by verb, the writes by verb and resource, and the
// writes the API server refused as conflicts (409: an optimistic lock, an object that
// exists already).
type requests struct {
	byVerb, writesByTarget counts
	conflicts              int
}

// auditRequests counts user's requests in each window, by the time the API server
// received them. A watch is counted once it has ended.
func auditRequests(path, user string, windows []window) ([]requests, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer func() { _ = f.Close() }()
	out := make([]requests, len(windows))
	for i := range out {
		out[i] = requests{byVerb: counts{}, writesByTarget: counts{}}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.User.Username != user {
			continue
		}
		for i, w := range windows {
			if !e.RequestReceivedTimestamp.Before(w.from) && e.RequestReceivedTimestamp.Before(w.to) {
				out[i].byVerb[e.Verb]++
				if isWrite(e.Verb) {
					out[i].writesByTarget[e.Verb+" "+e.target()]++
					if e.ResponseStatus.Code == 409 {
						out[i].conflicts++
					}
				}
			}
		}
	}
	return out, sc.Err()
}
