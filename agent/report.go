package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// What the agent publishes on its own pod (operator/src/agent/report.ts is
// the specification). Pure: the same file always yields the same report, so
// the agent compares reports and writes only what the operator acts on.

const apiGroup = "kdb-operator.dev"

const (
	conditionLive        = apiGroup + "/Live"
	conditionRolled      = apiGroup + "/Rolled"
	conditionDataFlushed = apiGroup + "/DataFlushed"

	annotationMemoryPercent = apiGroup + "/memory-percent"
	annotationRdbStatus     = apiGroup + "/rdb-status"
	// When the RDB wrote the state reported: where the operator's reaction times start.
	annotationReportedAt = apiGroup + "/reported-at"
)

type podCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// summary is the rdb-status annotation: the fields the operator plans with.
type summary struct {
	State         string
	Day           string
	FirstI        int64
	LastI         *int64
	LastProcessed int64
	// Rows can pass MAX_SAFE_INTEGER when many tables are near it; the
	// annotation schema then refuses the report (summaryProblem).
	Rows        uint64
	FlushedDays []string
	Error       *summaryError
}

type summaryError struct {
	Reason string
	// UTF-16 units, cut as JavaScript's slice cuts: a pair split at the bound stays split.
	Message []uint16
}

type report struct {
	Conditions    []podCondition
	MemoryPercent int64
	Summary       summary
}

// memoryPercentOf is capped where the operator stops believing it: a runaway RDB still reports, as full.
// Float arithmetic as in JavaScript, so the floor lands on the same whole percent.
func memoryPercentOf(s *statusFile) int64 {
	p := math.Floor(float64(s.UsedBytes) * 100 / float64(s.Limit))
	return int64(math.Min(maxMemoryPercent, p))
}

// holdsNothing: only a finished RDB (state flushed, no rows, window closed)
// may say it holds no data the shared volume lacks. One whose window is still
// open is the live subscriber whatever it writes, and must not be deleted.
func holdsNothing(s *statusFile, rows uint64) bool {
	return s.State == "flushed" && rows == 0 && s.Window.LastI != nil
}

func reasonFor(state string) string {
	return strings.ToUpper(state[:1]) + state[1:]
}

func status(on bool) string {
	if on {
		return "True"
	}
	return "False"
}

func reportFor(s *statusFile) report {
	var rows uint64
	for _, n := range s.Rows {
		rows += uint64(n) // at most 256 tables of 2^53: no overflow
	}
	from := max(0, len(s.Flushed)-summaryFlushedDay)
	days := make([]string, 0, len(s.Flushed)-from)
	for _, f := range s.Flushed[from:] {
		days = append(days, f.Day)
	}
	flushed := holdsNothing(s, rows)
	last := "open"
	if s.Window.LastI != nil {
		last = strconv.FormatInt(*s.Window.LastI, 10)
	}
	win := fmt.Sprintf("(%d, %s]", s.Window.FirstI, last)
	windowOpenFlushed := s.Window.LastI == nil && s.State == "flushed"

	sum := summary{
		State: s.State, Day: s.Day, FirstI: s.Window.FirstI, LastI: s.Window.LastI,
		LastProcessed: s.Window.LastProcessed, Rows: rows, FlushedDays: days,
	}
	if s.Error != nil {
		msg := utf16.Encode([]rune(s.Error.Message))
		sum.Error = &summaryError{Reason: s.Error.Reason, Message: msg[:min(len(msg), maxErrorMessage)]}
	}

	flushReason, flushMessage := "HoldsData", fmt.Sprintf("holds %d rows of %s", rows, s.Day)
	switch {
	case flushed:
		flushReason = "Flushed"
		flushMessage = "flushed nothing (held no rows)"
		if n := len(s.Flushed); n > 0 {
			f := s.Flushed[n-1]
			flushMessage = fmt.Sprintf("flushed %d rows of %s to %s", f.Rows, f.Day, f.Path)
		}
	case windowOpenFlushed:
		flushReason = "WindowOpen"
		flushMessage = fmt.Sprintf("reports flushed with its window still open (%d, open]: counted as the live RDB, not flushed", s.Window.FirstI)
	}
	return report{
		MemoryPercent: memoryPercentOf(s),
		Summary:       sum,
		Conditions: []podCondition{
			{conditionLive, status(s.State == "live"), reasonFor(s.State), fmt.Sprintf("RDB is %s; window %s", s.State, win)},
			{
				conditionRolled, status(s.State == "rolled" || (s.Window.LastI != nil && s.State != "live")), reasonFor(s.State),
				fmt.Sprintf("window %s, last processed %d", win, s.Window.LastProcessed),
			},
			{conditionDataFlushed, status(flushed), flushReason, flushMessage},
		},
	}
}

// annotation is JSON.stringify of the TypeScript summary, byte for byte, key order included.
func (s summary) annotation() string {
	var b strings.Builder
	b.WriteString(`{"state":`)
	b.WriteString(jsString(s.State))
	b.WriteString(`,"day":`)
	b.WriteString(jsString(s.Day))
	fmt.Fprintf(&b, `,"firstI":%d,"lastI":`, s.FirstI)
	if s.LastI == nil {
		b.WriteString("null")
	} else {
		b.WriteString(strconv.FormatInt(*s.LastI, 10))
	}
	fmt.Fprintf(&b, `,"lastProcessed":%d,"rows":%d,"flushedDays":[`, s.LastProcessed, s.Rows)
	for i, d := range s.FlushedDays {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsString(d))
	}
	b.WriteByte(']')
	if s.Error != nil {
		b.WriteString(`,"error":{"reason":`)
		b.WriteString(jsString(s.Error.Reason))
		b.WriteString(`,"message":`)
		writeJSString(&b, s.Error.Message)
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.String()
}

// summaryProblem is what RdbSummary.safeParse would refuse in a summary built
// from a valid file: only the row total can be off (the operator parses the
// annotation with that schema, so it is never published).
func (s summary) problem() string {
	if s.Rows > maxSafeInteger {
		return fmt.Sprintf("rows: Too big: expected int to be <=%d; rows: Too big: expected number to be <=%d", int64(maxSafeInteger), int64(maxSafeInteger))
	}
	return ""
}

// reportChanged: only a state change, a new flush, a window change or a
// whole-percent move in memory is worth an API write; a thousand RDB pods
// must not flood the API server with heartbeats.
func reportChanged(prev *report, next report) bool {
	if prev == nil {
		return true
	}
	if prev.MemoryPercent != next.MemoryPercent {
		return true
	}
	a, b := prev.Summary, next.Summary
	return a.State != b.State ||
		a.Day != b.Day ||
		a.FirstI != b.FirstI ||
		!sameLastI(a.LastI, b.LastI) ||
		strings.Join(a.FlushedDays, ",") != strings.Join(b.FlushedDays, ",") ||
		a.errorReason() != b.errorReason() ||
		a.errorMessage() != b.errorMessage() ||
		(a.Rows == 0) != (b.Rows == 0)
}

func sameLastI(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// errorReason and errorMessage tell "no error" apart from an empty message, as undefined !== ” does.
func (s summary) errorReason() string {
	if s.Error == nil {
		return "\x00none"
	}
	return s.Error.Reason
}

func (s summary) errorMessage() string {
	if s.Error == nil {
		return "\x00none"
	}
	return string(utf16.Decode(s.Error.Message))
}
