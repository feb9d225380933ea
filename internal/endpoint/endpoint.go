// Package endpoint parses the API server address a Terraform module outputs into the
// host and port Cluster API wants.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultPort is the port of an endpoint given without one: EKS serves on 443.
const DefaultPort = 443

// maxHostLength matches the CRDs' bound on spec.controlPlaneEndpoint.host.
const maxHostLength = 512

// maxQuotedScheme bounds the scheme an error quotes: a longer one is not a scheme a
// module means, and the error must not repeat the value at length.
const maxQuotedScheme = 16

// numericLabel is a last DNS label that clients read as part of an IPv4 address
// ("127.1", "10.0x1"): a host ending in one is not a DNS name.
var numericLabel = regexp.MustCompile(`^([0-9]+|0[xX][0-9a-fA-F]*)$`)

// Parse accepts every form a module emits: "https://host", "https://host:6443",
// "host", "host:6443", "[2001:db8::1]:443", "2001:db8::1", with or without a trailing
// slash. It refuses other schemes, user info, paths, queries, fragments, brackets
// around anything but an IPv6 address, unspecified addresses and invalid hosts or
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
	if strings.ContainsFunc(s, notHostPort) {
		return "", 0, errors.New("is neither a URL nor a host[:port]")
	}
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("has a [ without its ]")
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return "", 0, errors.New("is neither a URL nor a host[:port]")
		}
		return finishBracketed(host, strings.TrimPrefix(rest, ":"))
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address; "host:port:port" is nothing.
		if ip := net.ParseIP(s); ip == nil {
			return "", 0, errors.New("has a host that is neither a DNS name nor an IP address")
		}
		return finish(s, "")
	case strings.Contains(s, ":"):
		i := strings.LastIndexByte(s, ':')
		return finish(s[:i], s[i+1:])
	default:
		return finish(s, "")
	}
}

func parseURL(s string) (string, int32, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", 0, errors.New("is not a valid URL")
	}
	switch {
	case u.Scheme != "https" && len(u.Scheme) <= maxQuotedScheme:
		return "", 0, fmt.Errorf("has scheme %q, want https", u.Scheme)
	case u.Scheme != "https":
		return "", 0, errors.New("has a scheme other than https")
	case u.User != nil:
		return "", 0, errors.New("carries user info, which an endpoint must not")
	case u.Opaque != "" || u.Path != "" && u.Path != "/":
		return "", 0, errors.New("has a path, want only https://host[:port]")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", 0, errors.New("has a query or fragment, want only https://host[:port]")
	}
	if strings.HasPrefix(u.Host, "[") {
		return finishBracketed(u.Hostname(), u.Port())
	}
	return finish(u.Hostname(), u.Port())
}

// finishBracketed validates a host given in brackets: only an IPv6 address may be.
func finishBracketed(host, portText string) (string, int32, error) {
	if ip := net.ParseIP(host); ip == nil || !strings.Contains(host, ":") {
		return "", 0, errors.New("has brackets around something that is not an IPv6 address")
	}
	return finish(host, portText)
}

// finish validates host and port; a missing port is DefaultPort.
func finish(host, portText string) (string, int32, error) {
	port := DefaultPort
	if portText != "" {
		p, err := strconv.Atoi(portText)
		if err != nil || strings.Trim(portText, "0123456789") != "" || p < 1 || p > 65535 {
			return "", 0, errors.New("has a port outside 1-65535")
		}
		port = p
	}
	if strings.ContainsAny(host, "[]") {
		return "", 0, errors.New("has brackets around something that is not an IPv6 address")
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsUnspecified() {
			return "", 0, errors.New("is an unspecified address (0.0.0.0 or ::), which no client can reach")
		}
		return ip.String(), int32(port), nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if len(host) > maxHostLength || len(validation.IsDNS1123Subdomain(host)) > 0 {
		return "", 0, errors.New("has a host that is neither a DNS name nor an IP address")
	}
	labels := strings.Split(host, ".")
	for _, label := range labels {
		if len(label) > validation.DNS1123LabelMaxLength {
			return "", 0, fmt.Errorf("has a host with a label longer than %d characters", validation.DNS1123LabelMaxLength)
		}
	}
	if numericLabel.MatchString(labels[len(labels)-1]) {
		return "", 0, errors.New("has a host that ends in a number but is not an IP address")
	}
	return host, int32(port), nil
}

// notHostPort is a character that has no place in a host[:port]; '_' and '%' are
// refused later, as a bad DNS name and a bad IPv6 zone.
func notHostPort(r rune) bool {
	hostPort := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(".-_:[]%", r)
	return !hostPort
}

// URL is the https URL of host and port, with IPv6 hosts in brackets.
func URL(host string, port int32) string {
	return "https://" + HostPort(host, port)
}

// HostPort is host:port with IPv6 hosts in brackets; empty for no host.
func HostPort(host string, port int32) string {
	if host == "" {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
