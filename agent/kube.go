package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The agent's whole Kubernetes client: HTTPS to the API server with the
// service account's token and CA, a client-side rate limit and retries as
// operator/src/kube/rest.ts has them, and a guard that refuses, before it
// leaves, any call AGENT_PERMISSIONS (operator/src/kube/permissions.ts)
// does not grant.

const (
	contentMergePatch     = "application/merge-patch+json"
	contentStrategicPatch = "application/strategic-merge-patch+json"
	maxResponseBytes      = 16 * 1024 * 1024
	requestTimeout        = 30 * time.Second
	maxRetries            = 5
	backoffBase           = 200 * time.Millisecond
	backoffMax            = 10 * time.Second
	maxRetryAfter         = 30 * time.Second
)

type apiAddress struct {
	host   string
	port   int
	server string // https://host:port, an IPv6 host in brackets
}

// inClusterAddress is the API server's address as the kubelet gives it to every container.
func inClusterAddress(getenv func(string) string) (apiAddress, error) {
	host := strings.TrimSpace(getenv("KUBERNETES_SERVICE_HOST"))
	portText := strings.TrimSpace(getenv("KUBERNETES_SERVICE_PORT"))
	if host == "" || portText == "" {
		return apiAddress{}, errors.New("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (the kubelet sets them in every pod); run the agent in a pod")
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return apiAddress{}, fmt.Errorf("KUBERNETES_SERVICE_PORT must be a TCP port (1-65535), got %q", portText)
	}
	bare := host
	if strings.HasPrefix(bare, "[") && strings.HasSuffix(bare, "]") {
		bare = bare[1 : len(bare)-1]
	}
	return apiAddress{host: bare, port: port, server: "https://" + net.JoinHostPort(bare, strconv.Itoa(port))}, nil
}

// apiError is KubeApiError: status 0 when no answer came.
type apiError struct {
	status     int
	reason     string
	message    string
	verb, path string
	retryAfter *time.Duration
}

func (e *apiError) Error() string {
	code := "no response"
	if e.status != 0 {
		code = strconv.Itoa(e.status)
	}
	s := fmt.Sprintf("%s %s: %s %s: %s", e.verb, e.path, code, e.reason, e.message)
	return strings.Replace(s, " :", ":", 1)
}

// permission is one (group/resource, verb) AGENT_PERMISSIONS grants.
var agentPermissions = map[string]bool{"/pods:get": true, "/pods:patch": true, "/pods/status:patch": true}

// requestKey derives the RBAC attributes of a core-group pod path as the API
// server would; the agent makes no other kind of call.
func requestKey(method, path string) (key, namespace, name string) {
	p, _, _ := strings.Cut(path, "?")
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			u, err := url.PathUnescape(s)
			if err != nil {
				u = s
			}
			parts = append(parts, u)
		}
	}
	group, rest := "", []string(nil)
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, rest = parts[1], parts[3:]
	default:
		return "", "", ""
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		namespace, rest = rest[1], rest[2:]
	}
	if len(rest) == 0 {
		return "", "", ""
	}
	resource := rest[0]
	if len(rest) > 1 {
		name = rest[1]
	}
	if len(rest) > 2 {
		resource += "/" + rest[2]
	}
	verb := map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch"}[method]
	switch method {
	case http.MethodGet:
		verb = "list"
		if name != "" {
			verb = "get"
		}
	case http.MethodDelete:
		verb = "deletecollection"
		if name != "" {
			verb = "delete"
		}
	}
	return group + "/" + resource + ":" + verb, namespace, name
}

type kubeClient struct {
	addr      apiAddress
	tokenPath string
	http      *http.Client
	// Its own pod only: RBAC cannot narrow to one pod, so this does (the chart's admission policy too).
	namespace, podName string
	bucket             *tokenBucket
}

func newKubeClient(addr apiAddress, saDir, namespace, podName string) (*kubeClient, error) {
	ca, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		return nil, fmt.Errorf("cannot read the API server's CA %s/ca.crt (%v); is the service account token mounted?", saDir, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("the API server's CA %s/ca.crt holds no PEM certificate", saDir)
	}
	// Few sockets: the agent sends one request at a time.
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 2,
		MaxConnsPerHost:     2,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &kubeClient{
		addr:      addr,
		tokenPath: saDir + "/token",
		http:      &http.Client{Transport: transport},
		namespace: namespace, podName: podName,
		bucket: newTokenBucket(5, 10),
	}, nil
}

func (c *kubeClient) podPath(sub string) string {
	p := "/api/v1/namespaces/" + url.PathEscape(c.namespace) + "/pods/" + url.PathEscape(c.podName)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// refusal answers as RBAC would, without sending: a new call fails loudly in every test.
func (c *kubeClient) refusal(method, path string) *apiError {
	key, ns, name := requestKey(method, path)
	if key == "" || (agentPermissions[key] && ns == c.namespace && name == c.podName) {
		return nil
	}
	msg := fmt.Sprintf("%s (%s %s) is not in AGENT_PERMISSIONS for pod %s/%s (operator/src/kube/permissions.ts): add the call there, and the chart's RBAC follows (test/unit/rbac-chart.test.ts)",
		key, method, path, c.namespace, c.podName)
	return &apiError{status: 403, reason: "Forbidden", message: msg, verb: method, path: path}
}

// request is one API call with retries on throttling, server errors and lost
// connections; it returns the answer's body.
func (c *kubeClient) request(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	if refused := c.refusal(method, path); refused != nil {
		return nil, refused
	}
	for attempt := 0; ; attempt++ {
		if err := c.bucket.wait(ctx); err != nil {
			return nil, err
		}
		out, err := c.send(ctx, method, path, contentType, body)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ae *apiError
		if !errors.As(err, &ae) || !retryable(ae.status) || attempt >= maxRetries {
			return nil, err
		}
		delay := jitteredBackoff(attempt)
		if ae.retryAfter != nil {
			delay = min(*ae.retryAfter, maxRetryAfter)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

func retryable(status int) bool {
	return status == 0 || status == 429 || (status >= 500 && status != 501)
}

// jitteredBackoff: half the exponential step fixed, half random, so callers that failed together do not retry together.
func jitteredBackoff(attempt int) time.Duration {
	step := min(backoffBase<<attempt, backoffMax)
	return step/2 + time.Duration(rand.Float64()*float64(step/2))
}

func (c *kubeClient) send(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	// Re-read every time: the kubelet rotates the projected token in place.
	raw, err := os.ReadFile(c.tokenPath)
	if err != nil {
		return nil, &apiError{message: err.Error(), verb: method, path: path}
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return nil, &apiError{message: "service account token " + c.tokenPath + " is empty", verb: method, path: path}
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.addr.server+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	// The token goes only here; Node's agent sends no user agent, nor does this one.
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &apiError{message: networkMessage(err), verb: method, path: path}
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err == nil && len(out) > maxResponseBytes {
		err = fmt.Errorf("answer larger than %d bytes", maxResponseBytes)
	}
	if err != nil {
		return nil, &apiError{message: networkMessage(err), verb: method, path: path}
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return out, nil
	}
	e := &apiError{status: res.StatusCode, verb: method, path: path}
	var st struct{ Reason, Message string }
	if json.Unmarshal(out, &st) == nil && (st.Reason != "" || st.Message != "") {
		e.reason, e.message = st.Reason, st.Message
	} else {
		e.message = string(out[:min(len(out), 500)])
	}
	if ra := res.Header.Get("Retry-After"); ra != "" {
		if n, err := strconv.ParseFloat(strings.TrimSpace(ra), 64); err == nil {
			d := time.Duration(max(0, n) * float64(time.Second))
			e.retryAfter = &d
		} else if t, err := http.ParseTime(ra); err == nil {
			d := max(0, time.Until(t))
			e.retryAfter = &d
		}
	}
	return nil, e
}

// networkMessage keeps a transport failure's cause and drops the URL Go adds (the path is already in the error).
func networkMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// getPod returns nil when the pod does not exist.
func (c *kubeClient) getPod(ctx context.Context) (*pod, error) {
	out, err := c.request(ctx, http.MethodGet, c.podPath(""), "", nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == 404 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodePod(out)
}

func (c *kubeClient) patchPod(ctx context.Context, sub, contentType string, patch any) (*pod, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(patch); err != nil {
		return nil, err
	}
	out, err := c.request(ctx, http.MethodPatch, c.podPath(sub), contentType, bytes.TrimRight(buf.Bytes(), "\n"))
	if err != nil {
		return nil, err
	}
	return decodePod(out)
}

// pod holds the little of a pod the agent reads back: its conditions.
type pod struct {
	Status struct {
		Conditions []currentCondition `json:"conditions"`
	} `json:"status"`
}

func decodePod(data []byte) (*pod, error) {
	var p pod
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("the API server answered with something other than a pod: %v", err)
	}
	return &p, nil
}

// tokenBucket is client-go's default limit (5 per second, bursts of 10): the
// agent writes a handful of times a day, and a bug must not hammer the API server.
type tokenBucket struct {
	mu     sync.Mutex
	qps    float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(qps, burst float64) *tokenBucket {
	return &tokenBucket{qps: qps, burst: burst, tokens: burst, last: time.Now()}
}

func (b *tokenBucket) wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.qps)
	b.last = now
	b.tokens--
	var delay time.Duration
	if b.tokens < 0 {
		delay = time.Duration(-b.tokens / b.qps * float64(time.Second))
	}
	b.mu.Unlock()
	if delay == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(delay):
		return nil
	}
}
