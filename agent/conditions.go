package main

import "time"

// A pod condition as the API server returns it. Reason and message may be
// absent; the decision treats absent as empty, as the TypeScript one does.
type currentCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

type patchCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
	LastTransitionTime string `json:"lastTransitionTime"`
}

// rfc3339 to the second, as metav1.Time serialises.
func rfc3339(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05Z")
}

// podConditionsPatch (operator/src/kube/patch.ts) lists the conditions that
// differ from the pod's, for a strategic merge patch of pods/status: they
// merge by type there, so the kubelet's conditions are left alone. The
// transition time moves only when the status flips; nil means no write.
func podConditionsPatch(current []currentCondition, desired []podCondition, nowMs int64) []patchCondition {
	var changed []patchCondition
	for _, d := range desired {
		var cur *currentCondition
		for i := range current {
			if current[i].Type == d.Type {
				cur = &current[i]
				break
			}
		}
		if cur != nil && cur.Status == d.Status && cur.Reason == d.Reason && cur.Message == d.Message {
			continue
		}
		since := rfc3339(nowMs)
		if cur != nil && cur.Status == d.Status && cur.LastTransitionTime != "" {
			since = cur.LastTransitionTime
		}
		changed = append(changed, patchCondition{d.Type, d.Status, d.Reason, d.Message, since})
	}
	return changed
}
