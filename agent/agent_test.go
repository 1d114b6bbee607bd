package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testToken = "test-token-not-a-secret"

type seen struct {
	method, path, contentType, auth, body, rawQuery string
	status                                          int
}

// fakeAPI stands in for the API server's two pod endpoints, merging patches
// as the real one does (annotations by key, conditions by type).
type fakeAPI struct {
	mu          sync.Mutex
	annotations map[string]string
	conditions  []map[string]any
	requests    []seen
	failNext    int
	changed     chan struct{}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}()
	s := seen{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), body: string(body), status: 200}
	defer func() { f.requests = append(f.requests, s) }()
	if f.failNext > 0 && r.Method == http.MethodPatch {
		f.failNext--
		s.status = 500
		http.Error(w, `{"kind":"Status","reason":"InternalError","message":"etcd is having a moment"}`, 500)
		return
	}
	const podPath = "/api/v1/namespaces/kdb/pods/rdb-a-0"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == podPath:
	case r.Method == http.MethodPatch && r.URL.Path == podPath && s.contentType == contentMergePatch:
		var p struct {
			Metadata struct{ Annotations map[string]string } `json:"metadata"`
		}
		_ = json.Unmarshal(body, &p)
		for k, v := range p.Metadata.Annotations {
			f.annotations[k] = v
		}
	case r.Method == http.MethodPatch && r.URL.Path == podPath+"/status" && s.contentType == contentStrategicPatch:
		var p struct {
			Status struct{ Conditions []map[string]any } `json:"status"`
		}
		_ = json.Unmarshal(body, &p)
	next:
		for _, c := range p.Status.Conditions {
			for i, cur := range f.conditions {
				if cur["type"] == c["type"] {
					f.conditions[i] = c
					continue next
				}
			}
			f.conditions = append(f.conditions, c)
		}
	default:
		s.status = 404
		http.Error(w, `{"kind":"Status","reason":"NotFound"}`, 404)
		return
	}
	out, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "rdb-a-0", "namespace": "kdb", "annotations": f.annotations},
		"status":   map[string]any{"conditions": f.conditions},
	})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func (f *fakeAPI) snapshot() ([]seen, map[string]string, []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := map[string]string{}
	for k, v := range f.annotations {
		a[k] = v
	}
	return append([]seen(nil), f.requests...), a, append([]map[string]any(nil), f.conditions...)
}

// waitFor awaits a condition on the fake server, woken by each request it serves.
func (f *fakeAPI) waitFor(t *testing.T, what string, ok func(reqs []seen, ann map[string]string, conds []map[string]any) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if ok(f.snapshot()) {
			return
		}
		select {
		case <-f.changed:
		case <-time.After(50 * time.Millisecond): // the agent may act without a request (e.g. a refusal)
		case <-deadline:
			reqs, ann, _ := f.snapshot()
			t.Fatalf("timed out waiting for %s; requests %+v annotations %v", what, reqs, ann)
		}
	}
}

type testEnv struct {
	api        *fakeAPI
	server     *httptest.Server
	saDir      string
	statusFile string
	env        map[string]string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	api := &fakeAPI{annotations: map[string]string{}, conditions: []map[string]any{{"type": "Ready", "status": "True"}}, changed: make(chan struct{}, 1)}
	srv := httptest.NewTLSServer(api)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	sa := filepath.Join(dir, "sa")
	must(t, os.MkdirAll(sa, 0o755))
	must(t, os.WriteFile(filepath.Join(sa, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	must(t, os.WriteFile(filepath.Join(sa, "token"), []byte(testToken+"\n"), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "kdb"), 0o755))
	u, _ := url.Parse(srv.URL)
	return &testEnv{api: api, server: srv, saDir: sa, statusFile: filepath.Join(dir, "kdb", "status.json"), env: map[string]string{
		"POD_NAME": "rdb-a-0", "POD_NAMESPACE": "kdb", "KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port(),
		"KDB_SERVICE_ACCOUNT_DIR": sa, "KDB_STATUS_FILE": filepath.Join(dir, "kdb", "status.json"),
	}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeStatus writes as the RDB does: a temp file renamed over the old one.
func (e *testEnv) writeStatus(t *testing.T, state string, lastI any, lastProcessed int, used int, updatedAt string) {
	t.Helper()
	doc, _ := json.Marshal(map[string]any{
		"version": 1, "name": "rdb-a-0", "pool": "main", "state": state,
		"memory": map[string]any{"usedBytes": used, "limitBytes": 1000},
		"window": map[string]any{"firstI": 0, "lastI": lastI, "lastProcessed": lastProcessed},
		"rows":   map[string]any{"trade": 10}, "day": "2026-03-02", "updatedAt": updatedAt,
	})
	must(t, os.WriteFile(e.statusFile+".tmp", doc, 0o644))
	must(t, os.Rename(e.statusFile+".tmp", e.statusFile))
}

func (e *testEnv) client(t *testing.T) *kubeClient {
	addr, err := inClusterAddress(func(k string) string { return e.env[k] })
	must(t, err)
	c, err := newKubeClient(addr, e.saDir, "kdb", "rdb-a-0")
	must(t, err)
	return c
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func writes(reqs []seen) []string {
	var out []string
	for _, r := range reqs {
		if r.method == http.MethodPatch {
			out = append(out, r.path+" "+r.contentType)
		}
	}
	return out
}

func TestAgentLoop(t *testing.T) {
	e := newTestEnv(t)
	logs := &syncBuffer{}
	a := &agent{api: e.client(t), statusFile: e.statusFile, log: newJSONLog(logs, "debug", map[string]any{"component": "agent"}),
		poll: 20 * time.Millisecond, now: time.Now, podRef: "kdb/rdb-a-0"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.run(ctx); close(done) }()

	// No file yet: nothing is written. Then the first report: annotations, then conditions.
	e.writeStatus(t, "live", nil, 42, 500, "2026-03-02T14:30:00.000Z")
	e.api.waitFor(t, "the first report", func(reqs []seen, ann map[string]string, conds []map[string]any) bool { return len(conds) == 4 })
	reqs, ann, conds := e.api.snapshot()
	if got := writes(reqs); len(got) != 2 || !strings.HasSuffix(got[0], "rdb-a-0 "+contentMergePatch) || !strings.HasSuffix(got[1], "rdb-a-0/status "+contentStrategicPatch) {
		t.Fatalf("writes %v: want the annotations merge patch, then the status patch", got)
	}
	if reqs[0].method != http.MethodGet {
		t.Fatalf("first request %s %s, want the GET of its pod", reqs[0].method, reqs[0].path)
	}
	if ann[annotationRdbStatus] != `{"state":"live","day":"2026-03-02","firstI":0,"lastI":null,"lastProcessed":42,"rows":10,"flushedDays":[]}` ||
		ann[annotationMemoryPercent] != "50" || ann[annotationReportedAt] != "2026-03-02T14:30:00.000Z" {
		t.Fatalf("annotations %v", ann)
	}
	if conds[0]["type"] != "Ready" || conds[1]["type"] != conditionLive || conds[1]["status"] != "True" {
		t.Fatalf("conditions %v", conds)
	}

	// A heartbeat (new lastProcessed, new time) is not worth a write; the roll after it is.
	e.writeStatus(t, "live", nil, 43, 501, "2026-03-02T14:30:05.000Z")
	e.writeStatus(t, "rolled", 50, 50, 505, "2026-03-02T14:30:10.000Z")
	e.api.waitFor(t, "the roll", func(_ []seen, ann map[string]string, _ []map[string]any) bool {
		return strings.Contains(ann[annotationRdbStatus], `"rolled"`)
	})
	e.api.waitFor(t, "the roll's conditions", func(reqs []seen, _ map[string]string, _ []map[string]any) bool { return len(writes(reqs)) == 4 })
	reqs, ann, _ = e.api.snapshot()
	if ann[annotationReportedAt] != "2026-03-02T14:30:10.000Z" {
		t.Fatalf("the heartbeat was written: %v", ann)
	}

	// A 500 is retried; the report lands.
	e.api.mu.Lock()
	e.api.failNext = 1
	e.api.mu.Unlock()
	e.writeStatus(t, "flushed", 50, 50, 100, "2026-03-02T14:31:00.000Z")
	e.api.waitFor(t, "the flush after a 500", func(_ []seen, _ map[string]string, conds []map[string]any) bool {
		for _, c := range conds {
			// Rolled's reason is the state: the flushed report's conditions are in.
			if c["type"] == conditionRolled && c["reason"] == "Flushed" {
				return true
			}
		}
		return false
	})
	reqs, _, _ = e.api.snapshot()
	failed := 0
	for _, r := range reqs {
		if r.status == 500 {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed requests, want 1", failed)
	}

	// An invalid file is logged once per distinct error and never written.
	before := len(writes(reqs))
	must(t, os.WriteFile(e.statusFile+".tmp", []byte(`{"version":2}`), 0o644))
	must(t, os.Rename(e.statusFile+".tmp", e.statusFile))
	e.api.waitFor(t, "the invalid file's warning", func([]seen, map[string]string, []map[string]any) bool {
		return strings.Contains(logs.String(), "RDB status file is invalid")
	})
	e.writeStatus(t, "flushed", 50, 50, 900, "2026-03-02T14:32:00.000Z")
	e.api.waitFor(t, "memory 90%", func(_ []seen, ann map[string]string, _ []map[string]any) bool {
		return ann[annotationMemoryPercent] == "90"
	})
	if n := strings.Count(logs.String(), "RDB status file is invalid"); n != 1 {
		t.Fatalf("invalid file logged %d times", n)
	}
	reqs, _, _ = e.api.snapshot()
	if got := len(writes(reqs)) - before; got != 1 {
		t.Fatalf("%d writes for a memory move, want 1 (conditions unchanged)", got)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end on cancel")
	}

	// The token travels only in the Authorization header, and is never logged.
	for _, r := range reqs {
		if r.auth != "Bearer "+testToken {
			t.Fatalf("authorization %q on %s %s", r.auth, r.method, r.path)
		}
		if strings.Contains(r.path+r.rawQuery+r.body+r.contentType, testToken) {
			t.Fatalf("token outside the Authorization header: %+v", r)
		}
	}
	if strings.Contains(logs.String(), testToken) {
		t.Fatal("token in the logs")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["level"] == nil || m["message"] == nil || m["timestamp"] == nil || m["component"] != "agent" {
			t.Fatalf("log line %q", line)
		}
	}
}

func TestGuardRefusesOutsideAgentPermissions(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(t)
	for _, call := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/namespaces/kdb/pods"},
		{http.MethodGet, "/api/v1/namespaces/kdb/pods/rdb-b-0"},
		{http.MethodPatch, "/api/v1/namespaces/other/pods/rdb-a-0"},
		{http.MethodDelete, "/api/v1/namespaces/kdb/pods/rdb-a-0"},
		{http.MethodGet, "/api/v1/namespaces/kdb/secrets/token"},
		{http.MethodPut, "/api/v1/namespaces/kdb/pods/rdb-a-0/status"},
		{http.MethodGet, "/apis/kdb-operator.dev/v1alpha1/namespaces/kdb/kdbclusters/a"},
	} {
		_, err := c.request(context.Background(), call.method, call.path, "", nil)
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != 403 || !strings.Contains(ae.message, "AGENT_PERMISSIONS") {
			t.Errorf("%s %s: got %v, want a 403 naming AGENT_PERMISSIONS", call.method, call.path, err)
		}
	}
	if reqs, _, _ := e.api.snapshot(); len(reqs) != 0 {
		t.Fatalf("refused calls reached the server: %+v", reqs)
	}
	if _, err := c.getPod(context.Background()); err != nil {
		t.Fatalf("its own pod: %v", err)
	}
}

func TestInClusterAddress(t *testing.T) {
	env := func(h, p string) func(string) string {
		return func(k string) string {
			return map[string]string{"KUBERNETES_SERVICE_HOST": h, "KUBERNETES_SERVICE_PORT": p}[k]
		}
	}
	for _, c := range []struct{ host, port, server, err string }{
		{"10.0.0.1", "443", "https://10.0.0.1:443", ""},
		{" fd00::1 ", "6443", "https://[fd00::1]:6443", ""},
		{"[fd00::1]", "443", "https://[fd00::1]:443", ""},
		{"", "443", "", "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"},
		{"h", "0", "", `KUBERNETES_SERVICE_PORT must be a TCP port (1-65535), got "0"`},
		{"h", "https", "", `got "https"`},
	} {
		a, err := inClusterAddress(env(c.host, c.port))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q:%q: error %v, want %q", c.host, c.port, err, c.err)
			}
			continue
		}
		if err != nil || a.server != c.server {
			t.Errorf("%q:%q: %v %v, want %s", c.host, c.port, a.server, err, c.server)
		}
	}
}

// TestMainExitsCleanlyOnSIGTERM runs main in a child process (this test binary
// again) and stops it as the kubelet does.
func TestMainExitsCleanlyOnSIGTERM(t *testing.T) {
	if os.Getenv("KDB_AGENT_TEST_MAIN") == "1" {
		main()
		return
	}
	e := newTestEnv(t)
	e.writeStatus(t, "live", nil, 1, 100, "2026-03-02T14:30:00Z")
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainExitsCleanlyOnSIGTERM$")
	cmd.Env = append(os.Environ(), "KDB_AGENT_TEST_MAIN=1")
	for k, v := range e.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	e.api.waitFor(t, "the child's report", func(reqs []seen, _ map[string]string, _ []map[string]any) bool { return len(writes(reqs)) == 2 })
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), testToken) {
		t.Fatal("token in the output")
	}
}
