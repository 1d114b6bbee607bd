package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"sync"
	"time"
)

// JSON lines as operator/src/runtime/json-log.ts writes them (and winston
// before it): one object, keys sorted, level, message, timestamp, with the
// same redaction, so agent logs look the same whichever agent wrote them.

var (
	secretKey = regexp.MustCompile(`(?i)(token|authorization|password|passwd|secret|credentials?|api[-_]?key|access[-_]?key|cookie|private[-_]?key|client[-_]?key|licen[sc]e(_?b64)?)$`)
	bearer    = regexp.MustCompile(`\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*`)
)

const redacted = "[REDACTED]"

var logLevels = map[string]int{"error": 0, "warn": 1, "info": 2, "http": 3, "verbose": 4, "debug": 5, "silly": 6}

type jsonLog struct {
	mu        sync.Mutex
	out       io.Writer
	threshold int
	meta      map[string]any
	now       func() time.Time
}

func newJSONLog(out io.Writer, level string, meta map[string]any) *jsonLog {
	threshold, ok := logLevels[level]
	if !ok {
		threshold = logLevels["info"]
	}
	return &jsonLog{out: out, threshold: threshold, meta: meta, now: time.Now}
}

func redact(v any) any {
	switch t := v.(type) {
	case string:
		return bearer.ReplaceAllString(t, "$1 "+redacted)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if secretKey.MatchString(k) {
				out[k] = redacted
			} else {
				out[k] = redact(x)
			}
		}
		return out
	}
	return v
}

func (l *jsonLog) write(level, message string, fields map[string]any) {
	if l == nil || logLevels[level] > l.threshold {
		return
	}
	line := map[string]any{}
	for k, v := range l.meta {
		line[k] = v
	}
	for k, v := range fields {
		line[k] = v
	}
	line["level"], line["message"] = level, message
	line["timestamp"] = l.now().UTC().Format("2006-01-02T15:04:05.000Z")
	// encoding/json sorts map keys, as the TypeScript logger does.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redact(line)); err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.out.Write(buf.Bytes())
}

func (l *jsonLog) info(msg string, f map[string]any)  { l.write("info", msg, f) }
func (l *jsonLog) warn(msg string, f map[string]any)  { l.write("warn", msg, f) }
func (l *jsonLog) debug(msg string, f map[string]any) { l.write("debug", msg, f) }

// fatal is the line main.ts prints before exiting 1 (keys in its order, not sorted).
func fatal(err error) {
	msg, _ := json.Marshal(bearer.ReplaceAllString(err.Error(), "$1 "+redacted))
	os.Stderr.WriteString(`{"level":"error","message":"fatal","error":` + string(msg) + "}\n")
}
