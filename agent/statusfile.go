package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"strings"
	"time"
)

// The RDB reporting contract (operator/src/api/rdb-status.ts, the zod schema
// RdbStatusFile, is the specification): everything in the file is untrusted
// input, refused whole when any field is off. A refusal names the first bad
// field as zod would, `path: message`, because that is what the agent logs.

const (
	statusVersion     = 1
	maxStatusBytes    = 1024 * 1024
	maxSafeInteger    = 1<<53 - 1
	maxErrorMessage   = 512
	maxMemoryPercent  = 1000
	summaryFlushedDay = 32
)

var rdbStates = []string{"queued", "replaying", "live", "rolled", "flushing", "flushed"}
var errorReasons = []string{"WindowPastLog", "Renumbered"}

type flush struct {
	Day  string
	Rows int64
	Path string
}

type dataPlaneError struct {
	Reason  string
	Message string
	Since   string
}

type window struct {
	FirstI        int64
	LastI         *int64 // nil while the window is open: the RDB is the live subscriber
	LastProcessed int64
}

type statusFile struct {
	Name, Pool, State string
	UsedBytes, Limit  int64
	Window            window
	Rows              []int64 // per table; only the total is reported
	Day               string
	Flushed           []flush
	Error             *dataPlaneError
	UpdatedAt         string
}

type readResult struct {
	kind   string // "ok", "missing" or "invalid"
	status *statusFile
	err    string
}

// readStatusFile reads at most one byte past the bound, so a runaway writer
// cannot make the agent load gigabytes. The RDB writes by rename: a read sees
// a whole old or a whole new file.
func readStatusFile(path string) (readResult, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return readResult{kind: "missing"}, nil
	}
	if err != nil {
		return readResult{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStatusBytes+1))
	if err != nil {
		return readResult{}, err
	}
	if len(data) > maxStatusBytes {
		return readResult{kind: "invalid", err: fmt.Sprintf("(root): larger than %d bytes", maxStatusBytes)}, nil
	}
	doc, err := decodeJSON(data)
	if err != nil {
		return readResult{kind: "invalid", err: "not JSON: " + err.Error()}, nil
	}
	s, bad := parseStatusFile(doc)
	if bad != "" {
		return readResult{kind: "invalid", err: bad}, nil
	}
	return readResult{kind: "ok", status: s}, nil
}

// issue is zod's first issue: the dotted path ("(root)" when empty) and its message.
type issue struct {
	path []string
	msg  string
}

func (i *issue) Error() string {
	p := strings.Join(i.path, ".")
	if p == "" {
		p = "(root)"
	}
	return p + ": " + i.msg
}

func refuse(path []string, format string, a ...any) *issue {
	return &issue{path: append([]string(nil), path...), msg: fmt.Sprintf(format, a...)}
}

func at(path []string, k string) []string {
	return append(append([]string(nil), path...), k)
}

// typeName is zod's name for what it received.
func typeName(v any, present bool) string {
	if !present {
		return "undefined"
	}
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case number:
		if math.IsInf(float64(t), 1) {
			return "Infinity"
		}
		if math.IsInf(float64(t), -1) {
			return "-Infinity"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

func field(o *object, path []string, k string) (any, bool, []string) {
	v, ok := o.get(k)
	return v, ok, at(path, k)
}

func asObject(v any, present bool, path []string, what string) (*object, *issue) {
	if o, ok := v.(*object); ok {
		return o, nil
	}
	return nil, refuse(path, "Invalid input: expected %s, received %s", what, typeName(v, present))
}

// count is Count in rdb-status.ts: a whole number JSON carries exactly.
func count(v any, present bool, path []string) (int64, *issue) {
	n, ok := v.(number)
	if !ok || math.IsInf(float64(n), 0) {
		return 0, refuse(path, "Invalid input: expected number, received %s", typeName(v, present))
	}
	f := float64(n)
	if f != math.Trunc(f) {
		return 0, refuse(path, "Invalid input: expected int, received number")
	}
	if f > maxSafeInteger {
		return 0, refuse(path, "Too big: expected int to be <=%d", int64(maxSafeInteger))
	}
	if f < -maxSafeInteger {
		return 0, refuse(path, "Too small: expected int to be >=-%d", int64(maxSafeInteger))
	}
	if f < 0 {
		return 0, refuse(path, "Too small: expected number to be >=0")
	}
	return int64(f), nil
}

func str(v any, present bool, path []string, min, max int) (string, *issue) {
	s, ok := v.(string)
	if !ok {
		return "", refuse(path, "Invalid input: expected string, received %s", typeName(v, present))
	}
	n := jsLength(s)
	if n < min {
		return "", refuse(path, "Too small: expected string to have >=%d characters", min)
	}
	if max >= 0 && n > max {
		return "", refuse(path, "Too big: expected string to have <=%d characters", max)
	}
	return s, nil
}

func oneOf(v any, present bool, path []string, options []string) (string, *issue) {
	if s, ok := v.(string); ok {
		for _, o := range options {
			if s == o {
				return s, nil
			}
		}
	}
	quoted := make([]string, len(options))
	for i, o := range options {
		quoted[i] = jsString(o)
	}
	return "", refuse(path, "Invalid option: expected one of %s", strings.Join(quoted, "|"))
}

var (
	isoDay = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	qDay   = regexp.MustCompile(`^\d{4}\.\d{2}\.\d{2}$`)
)

// tradingDay: one spelling of a day on the wire, so q's 2026.03.02 is refused by name.
func tradingDay(v any, present bool, path []string) (string, *issue) {
	s, err := str(v, present, path, 0, -1)
	if err != nil {
		return "", err
	}
	if qDay.MatchString(s) {
		return "", refuse(path, "%s is q's date form; write the day as YYYY-MM-DD (in q: .c.day d)", jsString(s))
	}
	if !isoDay.MatchString(s) {
		show := s
		if u := []rune(s); jsLength(s) > 24 {
			show = string(u[:min(24, len(u))]) + "..."
		}
		return "", refuse(path, "must be a day YYYY-MM-DD, got %s", jsString(show))
	}
	if t, err := time.Parse("2006-01-02", s); err != nil || t.Format("2006-01-02") != s {
		return "", refuse(path, "%s is not a calendar day", s)
	}
	return s, nil
}

func reportTime(v any, present bool, path []string) (string, *issue) {
	s, err := str(v, present, path, 0, 64)
	if err != nil {
		return "", err
	}
	if !isReportTime(s) {
		return "", refuse(path, "must be an ISO 8601 time such as 2026-03-02T14:30:00.000Z")
	}
	return s, nil
}

// parseStatusFile checks fields in the schema's order, so the first refusal is zod's first issue.
func parseStatusFile(doc any) (*statusFile, string) {
	s, err := parseStatus(doc)
	if err != nil {
		return nil, err.Error()
	}
	return s, ""
}

func parseStatus(doc any) (*statusFile, *issue) {
	root, bad := asObject(doc, true, nil, "object")
	if bad != nil {
		return nil, bad
	}
	s := &statusFile{}
	var err *issue
	v, ok, p := field(root, nil, "version")
	if n, isNum := v.(number); !isNum || float64(n) != statusVersion {
		_ = ok
		return nil, refuse(p, "Invalid input: expected %d", statusVersion)
	}
	if s.Name, err = strField(root, "name", 1, 253); err != nil {
		return nil, err
	}
	if s.Pool, err = strField(root, "pool", 1, 253); err != nil {
		return nil, err
	}
	v, ok, p = field(root, nil, "state")
	if s.State, err = oneOf(v, ok, p, rdbStates); err != nil {
		return nil, err
	}
	v, ok, p = field(root, nil, "memory")
	mem, err := asObject(v, ok, p, "object")
	if err != nil {
		return nil, err
	}
	v, ok, q := field(mem, p, "usedBytes")
	if s.UsedBytes, err = count(v, ok, q); err != nil {
		return nil, err
	}
	v, ok, q = field(mem, p, "limitBytes")
	if s.Limit, err = count(v, ok, q); err != nil {
		return nil, err
	}
	if s.Limit == 0 {
		return nil, refuse(q, "Too small: expected number to be >0")
	}
	if err = parseWindow(root, s); err != nil {
		return nil, err
	}
	if err = parseRows(root, s); err != nil {
		return nil, err
	}
	v, ok, p = field(root, nil, "day")
	if s.Day, err = tradingDay(v, ok, p); err != nil {
		return nil, err
	}
	if err = parseFlushed(root, s); err != nil {
		return nil, err
	}
	if v, ok, p = field(root, nil, "error"); ok {
		if s.Error, err = parseError(v, p); err != nil {
			return nil, err
		}
	}
	v, ok, p = field(root, nil, "updatedAt")
	if s.UpdatedAt, err = reportTime(v, ok, p); err != nil {
		return nil, err
	}
	return s, nil
}

func strField(o *object, k string, min, max int) (string, *issue) {
	v, ok, p := field(o, nil, k)
	return str(v, ok, p, min, max)
}

func parseWindow(root *object, s *statusFile) *issue {
	v, ok, p := field(root, nil, "window")
	w, err := asObject(v, ok, p, "object")
	if err != nil {
		return err
	}
	v, ok, q := field(w, p, "firstI")
	if s.Window.FirstI, err = count(v, ok, q); err != nil {
		return err
	}
	v, ok, q = field(w, p, "lastI")
	if v != nil || !ok {
		n, err := count(v, ok, q)
		if err != nil {
			return err
		}
		s.Window.LastI = &n
	}
	v, ok, q = field(w, p, "lastProcessed")
	if s.Window.LastProcessed, err = count(v, ok, q); err != nil {
		return err
	}
	if s.Window.LastI != nil && *s.Window.LastI < s.Window.FirstI {
		return refuse(at(p, "lastI"), "lastI is below firstI")
	}
	return nil
}

func parseRows(root *object, s *statusFile) *issue {
	v, ok, p := field(root, nil, "rows")
	rows, err := asObject(v, ok, p, "record")
	if err != nil {
		return err
	}
	for _, k := range rows.keys {
		if n := jsLength(k); n < 1 || n > 255 {
			return refuse(at(p, k), "Invalid key in record")
		}
		v, _ := rows.get(k)
		n, err := count(v, true, at(p, k))
		if err != nil {
			return err
		}
		s.Rows = append(s.Rows, n)
	}
	if len(rows.keys) > 256 {
		return refuse(p, "more than 256 tables")
	}
	return nil
}

func parseFlushed(root *object, s *statusFile) *issue {
	v, ok, p := field(root, nil, "flushed")
	if !ok {
		return nil // an RDB that never flushed may leave it out: []
	}
	list, isList := v.([]any)
	if !isList {
		return refuse(p, "Invalid input: expected array, received %s", typeName(v, ok))
	}
	for i, item := range list {
		ip := at(p, fmt.Sprint(i))
		o, err := asObject(item, true, ip, "object")
		if err != nil {
			return err
		}
		var f flush
		v, ok, q := field(o, ip, "day")
		if f.Day, err = tradingDay(v, ok, q); err != nil {
			return err
		}
		v, ok, q = field(o, ip, "rows")
		if f.Rows, err = count(v, ok, q); err != nil {
			return err
		}
		v, ok, q = field(o, ip, "path")
		if f.Path, err = str(v, ok, q, 0, 4096); err != nil {
			return err
		}
		s.Flushed = append(s.Flushed, f)
	}
	if len(list) > 10_000 {
		return refuse(p, "Too big: expected array to have <=10000 items")
	}
	return nil
}

func parseError(v any, p []string) (*dataPlaneError, *issue) {
	o, err := asObject(v, true, p, "object")
	if err != nil {
		return nil, err
	}
	e := &dataPlaneError{}
	v, ok, q := field(o, p, "reason")
	if e.Reason, err = oneOf(v, ok, q, errorReasons); err != nil {
		return nil, err
	}
	v, ok, q = field(o, p, "message")
	if e.Message, err = str(v, ok, q, 0, 4096); err != nil {
		return nil, err
	}
	v, ok, q = field(o, p, "since")
	if e.Since, err = reportTime(v, ok, q); err != nil {
		return nil, err
	}
	return e, nil
}
