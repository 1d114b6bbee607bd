package main

import (
	"context"
	"errors"
	"time"
)

// The loop that turns the RDB's status file into state on its own pod. The
// operator watches pods and never talks to RDB processes, so this is the only
// channel from the data plane to the control plane (operator/src/agent/agent.ts
// is the specification).

type podAPI interface {
	getPod(ctx context.Context) (*pod, error)
	patchPod(ctx context.Context, sub, contentType string, patch any) (*pod, error)
}

type agent struct {
	api        podAPI
	statusFile string
	log        *jsonLog
	// Fallback poll when file-change notifications are missed.
	poll time.Duration
	now  func() time.Time
	// describes the pod in errors
	podRef string

	published   *report
	pod         *pod
	lastInvalid string
}

func (a *agent) run(ctx context.Context) {
	// One buffered kick coalesces any number of notifications and polls into
	// the next pass, as the TypeScript busy/again flags do.
	kick := make(chan struct{}, 1)
	nudge := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	stopWatch := watchDir(ctx, a.statusFile, nudge)
	defer stopWatch()
	poll := a.poll
	if poll <= 0 {
		poll = time.Second
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	nudge()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			nudge()
		case <-kick:
			a.tick(ctx)
		}
	}
}

func (a *agent) tick(ctx context.Context) {
	read, err := readStatusFile(a.statusFile)
	if err == nil {
		err = a.consider(ctx, read)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		// Keep `published` as it was: the next tick retries the same write.
		a.pod = nil
		a.log.warn("could not report RDB state; will retry", map[string]any{"error": err.Error()})
	}
}

func (a *agent) consider(ctx context.Context, read readResult) error {
	switch read.kind {
	case "missing":
		return nil
	case "invalid":
		if read.err != a.lastInvalid {
			a.log.warn("RDB status file is invalid; not reporting it", map[string]any{"file": a.statusFile, "error": read.err})
		}
		a.lastInvalid = read.err
		return nil
	}
	next := reportFor(read.status)
	if !reportChanged(a.published, next) {
		return nil
	}
	// The operator parses the annotation with its schema: never publish what it would refuse.
	if problem := next.Summary.problem(); problem != "" {
		if problem != a.lastInvalid {
			a.log.warn("RDB report does not fit the annotation schema; not reporting it", map[string]any{"error": problem})
		}
		a.lastInvalid = problem
		return nil
	}
	if err := a.publish(ctx, next, read.status.UpdatedAt); err != nil {
		return err
	}
	a.log.info("reported RDB state", map[string]any{"state": next.Summary.State, "memoryPercent": next.MemoryPercent, "rows": next.Summary.Rows})
	a.published = &next
	return nil
}

func (a *agent) publish(ctx context.Context, r report, updatedAt string) error {
	if a.pod == nil {
		p, err := a.api.getPod(ctx)
		if err != nil {
			return err
		}
		if p == nil {
			return errors.New("pod " + a.podRef + " not found")
		}
		a.pod = p
	}
	// Annotations first: the operator reads the window from them when a condition flips.
	p, err := a.api.patchPod(ctx, "", contentMergePatch, map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{
			annotationMemoryPercent: itoa(r.MemoryPercent),
			annotationRdbStatus:     r.Summary.annotation(),
			annotationReportedAt:    updatedAt,
		}},
	})
	if err != nil {
		return err
	}
	a.pod = p
	patch := podConditionsPatch(p.Status.Conditions, r.Conditions, a.now().UnixMilli())
	if patch == nil {
		return nil
	}
	p, err = a.api.patchPod(ctx, "status", contentStrategicPatch, map[string]any{"status": map[string]any{"conditions": patch}})
	if err != nil {
		return err
	}
	a.pod = p
	return nil
}
