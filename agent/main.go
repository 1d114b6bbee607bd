// Command kdb-agent is the agent container beside every RDB: it reports the
// RDB's status file on its own pod. Go, not Node, because its memory is paid
// on every server (bench/agent-memory.ts); operator/src/agent stays the
// specification and agent/testdata/conformance.json holds this to it.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const (
	defaultStatusFile     = "/var/run/kdb/status.json"
	defaultServiceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func main() {
	// SIGTERM is how the kubelet stops the pod: a clean exit, not a failure.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fatal(err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	podName, namespace := getenv("POD_NAME"), getenv("POD_NAMESPACE")
	if podName == "" || namespace == "" {
		return errors.New("POD_NAME and POD_NAMESPACE must be set (downward API fieldRefs metadata.name and metadata.namespace)")
	}
	log := newJSONLog(os.Stdout, getenv("LOG_LEVEL"), map[string]any{"component": "agent", "pod": namespace + "/" + podName})
	addr, err := inClusterAddress(getenv)
	if err != nil {
		return err
	}
	// KDB_SERVICE_ACCOUNT_DIR only for running outside a pod (bench, tests).
	saDir := getenv("KDB_SERVICE_ACCOUNT_DIR")
	if saDir == "" {
		saDir = defaultServiceAccount
	}
	client, err := newKubeClient(addr, saDir, namespace, podName)
	if err != nil {
		return err
	}
	log.info("kubernetes client configured", map[string]any{"server": addr.server, "source": "in-cluster"})
	statusFile := getenv("KDB_STATUS_FILE")
	if statusFile == "" {
		statusFile = defaultStatusFile
	}
	a := &agent{api: client, statusFile: statusFile, log: log, poll: time.Second, now: time.Now, podRef: namespace + "/" + podName}
	a.run(ctx)
	return nil
}
