// Package endpoint parses the API server address a Terraform module outputs into the
// host and port Cluster API wants.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultPort is the port of an endpoint given without one: EKS serves on 443.
const DefaultPort = 443

// maxHostLength matches the CRDs' bound on spec.controlPlaneEndpoint.host.
const maxHostLength = 512

// Parse accepts every form a module emits: "https://host", "https://host:6443",
// "host", "host:6443", "[2001:db8::1]:443", "2001:db8::1", with or without a trailing
// slash. It refuses other schemes, user info, paths, queries and invalid hosts or
// ports. Errors describe the problem without repeating the value.
func Parse(raw string) (host string, port int32, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", 0, errors.New("is empty")
	}
	if strings.Contains(s, "://") {
		return parseURL(s)
	}
	s = strings.TrimSuffix(s, "/")
	if strings.ContainsAny(s, "/?#@ ") {
		return "", 0, errors.New("is neither a URL nor a host[:port]")
	}
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil && (strings.Count(s, ":") > 1 && !strings.Contains(s, "]:")) {
		return finish(ip.String(), "")
	}
	h, p, splitErr := net.SplitHostPort(s)
	if splitErr != nil {
		return finish(strings.Trim(s, "[]"), "")
	}
	return finish(h, p)
}

func parseURL(s string) (string, int32, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", 0, errors.New("is not a valid URL")
	}
	switch {
	case u.Scheme != "https":
		return "", 0, fmt.Errorf("has scheme %q, want https", u.Scheme)
	case u.User != nil:
		return "", 0, errors.New("carries user info, which an endpoint must not")
	case u.Path != "" && u.Path != "/":
		return "", 0, errors.New("has a path, want only https://host[:port]")
	case u.RawQuery != "" || u.Fragment != "":
		return "", 0, errors.New("has a query or fragment, want only https://host[:port]")
	}
	return finish(u.Hostname(), u.Port())
}

// finish validates host and port; a missing port is DefaultPort.
func finish(host, portText string) (string, int32, error) {
	port := DefaultPort
	if portText != "" {
		p, err := strconv.Atoi(portText)
		if err != nil || p < 1 || p > 65535 {
			return "", 0, errors.New("has a port outside 1-65535")
		}
		port = p
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), int32(port), nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if len(host) > maxHostLength || len(validation.IsDNS1123Subdomain(host)) > 0 {
		return "", 0, errors.New("has a host that is neither a DNS name nor an IP address")
	}
	return host, int32(port), nil
}

// URL is the https URL of host and port, with IPv6 hosts in brackets.
func URL(host string, port int32) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(int(port)))
}
