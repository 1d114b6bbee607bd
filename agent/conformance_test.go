package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The TypeScript agent's answers (scripts/gen-agent-fixtures.ts); the Go
// agent must give the same ones.
type fixtures struct {
	Generated string `json:"generated"`
	NowMs     int64  `json:"nowMs"`
	Files     []struct {
		Name      string `json:"name"`
		Text      string `json:"text"`
		GoDiffers string `json:"goDiffers"`
		OK        bool   `json:"ok"`
		Error     string `json:"error"`
		Report    *struct {
			MemoryPercent string         `json:"memoryPercent"`
			RdbStatus     string         `json:"rdbStatus"`
			Conditions    []podCondition `json:"conditions"`
		} `json:"report"`
		SummaryError string `json:"summaryError"`
	} `json:"files"`
	Changes []struct {
		Prev    *string `json:"prev"`
		Next    string  `json:"next"`
		Changed bool    `json:"changed"`
	} `json:"changes"`
	ConditionPatches []struct {
		Name    string             `json:"name"`
		Current []currentCondition `json:"current"`
		Desired []podCondition     `json:"desired"`
		Patch   []patchCondition   `json:"patch"`
	} `json:"conditionPatches"`
}

func loadFixtures(t *testing.T) *fixtures {
	t.Helper()
	data, err := os.ReadFile("testdata/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.Generated, "GENERATED") || len(f.Files) < 100 {
		t.Fatalf("testdata/conformance.json looks wrong: %q, %d files", f.Generated, len(f.Files))
	}
	return &f
}

func parseText(text string) (*statusFile, string) {
	doc, err := decodeJSON([]byte(text))
	if err != nil {
		return nil, "not JSON: " + err.Error()
	}
	return parseStatusFile(doc)
}

func TestConformanceStatusFiles(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.Files {
		t.Run(c.Name, func(t *testing.T) {
			s, bad := parseText(c.Text)
			if c.GoDiffers != "" {
				// Only legacy time forms, and Go must refuse them, naming the field.
				if bad == "" || !strings.HasPrefix(bad, "updatedAt: ") {
					t.Fatalf("%s: want a refusal of updatedAt, got %q", c.GoDiffers, bad)
				}
				return
			}
			if !c.OK {
				if s != nil {
					t.Fatalf("accepted; TypeScript refused: %s", c.Error)
				}
				if strings.HasPrefix(c.Error, "not JSON:") {
					// JSON.parse's wording is V8's; the refusal and its prefix are the contract.
					if !strings.HasPrefix(bad, "not JSON: ") {
						t.Fatalf("got %q, want a not-JSON refusal", bad)
					}
					return
				}
				if bad != c.Error {
					t.Fatalf("refusal\n got %q\nwant %q", bad, c.Error)
				}
				return
			}
			if s == nil {
				t.Fatalf("refused (%s); TypeScript accepted", bad)
			}
			r := reportFor(s)
			if got := r.Summary.annotation(); got != c.Report.RdbStatus {
				t.Errorf("rdb-status\n got %s\nwant %s", got, c.Report.RdbStatus)
			}
			if got := itoa(r.MemoryPercent); got != c.Report.MemoryPercent {
				t.Errorf("memory-percent %s, want %s", got, c.Report.MemoryPercent)
			}
			if !reflect.DeepEqual(r.Conditions, c.Report.Conditions) {
				t.Errorf("conditions\n got %+v\nwant %+v", r.Conditions, c.Report.Conditions)
			}
			if got := r.Summary.problem(); got != c.SummaryError {
				t.Errorf("summary check %q, want %q", got, c.SummaryError)
			}
		})
	}
}

func TestConformanceReportChanged(t *testing.T) {
	f := loadFixtures(t)
	reports := map[string]report{}
	for _, c := range f.Files {
		if s, _ := parseText(c.Text); s != nil && c.GoDiffers == "" {
			reports[c.Name] = reportFor(s)
		}
	}
	for _, c := range f.Changes {
		next, ok := reports[c.Next]
		if !ok {
			t.Fatalf("no report %q", c.Next)
		}
		var prev *report
		name := "(none)"
		if c.Prev != nil {
			p := reports[*c.Prev]
			prev, name = &p, *c.Prev
		}
		if got := reportChanged(prev, next); got != c.Changed {
			t.Errorf("reportChanged(%s -> %s) = %v, want %v", name, c.Next, got, c.Changed)
		}
	}
}

func TestConformanceConditionPatches(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.ConditionPatches {
		got := podConditionsPatch(c.Current, c.Desired, f.NowMs)
		if !reflect.DeepEqual(got, c.Patch) {
			t.Errorf("%s\n got %+v\nwant %+v", c.Name, got, c.Patch)
		}
	}
}
