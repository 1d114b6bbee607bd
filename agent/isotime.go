package main

// isReportTime answers what Number.isFinite(Date.parse(s)) answers in the
// TypeScript agent, for the ISO 8601 forms V8 reads (what JavaScript's
// toISOString and q's .c.iso write, and their shorter and offset forms). V8
// also reads legacy forms ("March 2, 2026", "2026/03/02"); those are refused
// here: no RDB writes them, and a second spelling of an instant is a bug to
// surface, not to guess at. V8, like this, takes any day 1-31 in any month.
func isReportTime(s string) bool {
	p := isoParser{s: s}
	return p.parse()
}

type isoParser struct {
	s string
	i int
}

func (p *isoParser) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func (p *isoParser) peek(cs string) (byte, bool) {
	if p.i < len(p.s) {
		for j := 0; j < len(cs); j++ {
			if p.s[p.i] == cs[j] {
				return cs[j], true
			}
		}
	}
	return 0, false
}

const maxTimeMs = 8.64e15

func (p *isoParser) parse() bool {
	year := 0
	if sign, ok := p.peek("+-"); ok {
		p.i++
		y, ok := p.digits(6)
		if !ok || (sign == '-' && y == 0) {
			return false
		}
		year = y
		if sign == '-' {
			year = -y
		}
	} else if y, ok := p.digits(4); ok {
		year = y
	} else {
		return false
	}
	month, day := 1, 1
	if _, ok := p.peek("-"); ok {
		p.i++
		m, ok := p.digits(2)
		if !ok || m < 1 || m > 12 {
			return false
		}
		month = m
		if _, ok := p.peek("-"); ok {
			p.i++
			d, ok := p.digits(2)
			if !ok || d < 1 || d > 31 {
				return false
			}
			day = d
		}
	}
	var hour, minute, second int
	var fraction bool
	offsetMin := 0
	if _, ok := p.peek("Tt "); ok && p.i+1 < len(p.s) {
		p.i++
		var ok1, ok2 bool
		hour, ok1 = p.digits(2)
		if _, c := p.peek(":"); !ok1 || !c {
			return false
		}
		p.i++
		minute, ok2 = p.digits(2)
		if !ok2 || hour > 24 || minute > 59 {
			return false
		}
		if _, ok := p.peek(":"); ok {
			p.i++
			sec, ok := p.digits(2)
			if !ok || sec > 59 {
				return false
			}
			second = sec
			if _, ok := p.peek("."); ok {
				p.i++
				start := p.i
				for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
					if p.s[p.i] != '0' {
						fraction = true
					}
					p.i++
				}
				if p.i == start {
					return false
				}
			}
		}
		if hour == 24 && (minute != 0 || second != 0 || fraction) {
			return false
		}
		if sign, ok := p.peek("+-"); ok {
			p.i++
			oh, ok := p.digits(2)
			if !ok {
				return false
			}
			if _, c := p.peek(":"); c {
				p.i++
			}
			om, ok := p.digits(2)
			if !ok || oh > 23 || om > 59 {
				return false
			}
			offsetMin = oh*60 + om
			if sign == '+' {
				offsetMin = -offsetMin
			}
		} else if _, ok := p.peek("Zz"); ok {
			p.i++
		}
	}
	if p.i != len(p.s) {
		return false
	}
	ms := float64(daysFromCivil(year, month, day))*86400e3 +
		float64(hour*3600+minute*60+second+offsetMin*60)*1e3
	// The fraction adds under a second; it can only push the upper bound over.
	if fraction && ms >= maxTimeMs {
		return false
	}
	return ms >= -maxTimeMs && ms <= maxTimeMs
}

// daysFromCivil counts days since 1970-01-01 in the proleptic Gregorian
// calendar; an out-of-month day (Feb 30) runs on into the next month, as in V8.
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
