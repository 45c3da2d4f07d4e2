package pwpolicy

import (
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// The matchers below follow zxcvbn 4.4.2's (matching.coffee): each finds
// the places where a password looks like something an attacker would try
// early, and how many guesses that something costs. Positions are rune
// indexes, inclusive at both ends, as in zxcvbn.

type pattern uint8

const (
	patBruteforce pattern = iota
	patDictionary
	patSpatial
	patRepeat
	patSequence
	patYear
	patDate
)

type match struct {
	pattern pattern
	i, j    int
	lg      float64 // log10 of the guesses, before the sub-match minimum

	entry    entry // dictionary: list and rank
	reversed bool  // dictionary
	l33t     bool  // dictionary
	turns    int   // spatial
	baseLen  int   // repeat: runes in the repeated unit
}

// analyzer runs every matcher over one password against the bundled and
// the user's dictionaries.
type analyzer struct {
	dicts []*dictionary
}

// omnimatch returns every match in pw (which is original case).
func (a *analyzer) omnimatch(pw []rune) []match {
	lw := lowerRunes(pw)
	var ms []match
	ms = a.dictionaryMatch(ms, pw, lw, false)
	ms = a.dictionaryMatch(ms, pw, reversedRunes(lw), true)
	ms = a.l33tMatch(ms, pw, lw)
	for _, kb := range keyboards {
		ms = kb.match(ms, pw)
	}
	ms = a.repeatMatch(ms, pw)
	ms = sequenceMatch(ms, pw)
	ms = yearMatch(ms, pw)
	ms = dateMatch(ms, pw)
	return ms
}

// dictionaryMatch appends a match for every substring of lw that is a
// dictionary word. With reversed, lw is the reversed lowercase password.
func (a *analyzer) dictionaryMatch(ms []match, pw, lw []rune, reversed bool) []match {
	n := len(lw)
	s, off := joinRunes(lw)
	for _, d := range a.dicts {
		for i := range n {
			for j := i; j < n && j-i < d.maxLen; j++ {
				e, ok := d.lookup(s[off[i]:off[j+1]])
				if !ok {
					continue
				}
				m := match{pattern: patDictionary, i: i, j: j, entry: e, reversed: reversed}
				if reversed {
					m.i, m.j = n-1-j, n-1-i
				}
				m.lg = math.Log10(float64(e.rank())) + math.Log10(uppercaseVariations(pw[m.i:m.j+1]))
				if reversed {
					m.lg += math.Log10(2)
				}
				ms = append(ms, m)
			}
		}
	}
	return ms
}

// l33tTable is zxcvbn's: the letters each substitute may stand for.
var l33tTable = map[rune][]rune{
	'4': {'a'}, '@': {'a'}, '8': {'b'}, '(': {'c'}, '{': {'c'}, '[': {'c'}, '<': {'c'},
	'3': {'e'}, '6': {'g'}, '9': {'g'}, '1': {'i', 'l'}, '!': {'i'}, '|': {'i', 'l'},
	'7': {'l', 't'}, '0': {'o'}, '$': {'s'}, '5': {'s'}, '+': {'t'}, '%': {'x'}, '2': {'z'},
}

// l33tSubs enumerates every way to read the substitutes present in lw as
// letters, one letter per substitute character (at most 2³ ways, since
// only 1, | and 7 are ambiguous).
func l33tSubs(lw []rune) []map[rune]rune {
	var present []rune
	for _, r := range lw {
		if _, ok := l33tTable[r]; ok && !slices.Contains(present, r) {
			present = append(present, r)
		}
	}
	if len(present) == 0 {
		return nil
	}
	subs := []map[rune]rune{{}}
	for _, c := range present {
		var next []map[rune]rune
		for _, s := range subs {
			for _, letter := range l33tTable[c] {
				m := make(map[rune]rune, len(s)+1)
				for k, v := range s {
					m[k] = v
				}
				m[c] = letter
				next = append(next, m)
			}
		}
		subs = next
	}
	return subs
}

func (a *analyzer) l33tMatch(ms []match, pw, lw []rune) []match {
	subbed := make([]rune, len(lw))
	for _, sub := range l33tSubs(lw) {
		for k, r := range lw {
			if l, ok := sub[r]; ok {
				subbed[k] = l
			} else {
				subbed[k] = r
			}
		}
		start := len(ms)
		ms = a.dictionaryMatch(ms, pw, subbed, false)
		kept := ms[:start]
		for _, m := range ms[start:] {
			tok := lw[m.i : m.j+1]
			if m.j == m.i || slices.Equal(tok, subbed[m.i:m.j+1]) {
				continue // only matches that use a substitution, and longer than one rune
			}
			m.l33t = true
			m.lg += math.Log10(l33tVariations(tok, sub))
			kept = append(kept, m)
		}
		ms = kept
	}
	return ms
}

// repeatMatch finds runs of a repeated unit ("aaa", "abcabc"), as zxcvbn's
// greedy and lazy regexes /(.+)\1+/ and /(.+?)\1+/ do, and prices the unit
// by analysing it as a password of its own.
func (a *analyzer) repeatMatch(ms []match, pw []rune) []match {
	n := len(pw)
	for last := 0; last < n; {
		i, greedy, lazy := -1, 0, 0
		for s := last; s < n && i < 0; s++ {
			for b := (n - s) / 2; b >= 1; b-- { // greedy: the longest unit that repeats at s
				if slices.Equal(pw[s:s+b], pw[s+b:s+2*b]) {
					i, greedy = s, b
					break
				}
			}
		}
		if i < 0 {
			break
		}
		for b := 1; b <= greedy; b++ { // lazy: the shortest
			if slices.Equal(pw[i:i+b], pw[i+b:i+2*b]) {
				lazy = b
				break
			}
		}
		gLen, lLen := runLength(pw, i, greedy), runLength(pw, i, lazy)
		length, base := lLen, lazy
		if gLen > lLen {
			length, base = gLen, period(pw[i:i+gLen])
		}
		baseLg, _ := a.mostGuessable(pw[i : i+base])
		ms = append(ms, match{pattern: patRepeat, i: i, j: i + length - 1, baseLen: base,
			lg: baseLg + math.Log10(float64(length/base))})
		last = i + length
	}
	return ms
}

// runLength is how many runes from i are whole repeats of pw[i:i+b].
func runLength(pw []rune, i, b int) int {
	k := 1
	for i+(k+1)*b <= len(pw) && slices.Equal(pw[i:i+b], pw[i+k*b:i+(k+1)*b]) {
		k++
	}
	return k * b
}

// period is the shortest unit that tiles s at least twice.
func period(s []rune) int {
	for b := 1; b <= len(s)/2; b++ {
		if len(s)%b == 0 && slices.Equal(s[b:], s[:len(s)-b]) {
			return b
		}
	}
	return len(s)
}

// sequenceMatch finds runs with a constant step of at most 5 code points
// ("abc", "7531", "αβγ").
func sequenceMatch(ms []match, pw []rune) []match {
	const maxDelta = 5
	n := len(pw)
	if n < 2 {
		return ms
	}
	add := func(i, j, delta int) {
		if (j-i > 1 || abs(delta) == 1) && delta != 0 && abs(delta) <= maxDelta {
			var base float64
			switch first := pw[i]; {
			case first == 'a' || first == 'A' || first == 'z' || first == 'Z' || first == '0' || first == '1' || first == '9':
				base = 4 // obvious starting points
			case first >= '0' && first <= '9':
				base = 10
			default:
				base = 26
			}
			if delta < 0 {
				base *= 2
			}
			ms = append(ms, match{pattern: patSequence, i: i, j: j, lg: math.Log10(base * float64(j-i+1))})
		}
	}
	i, last := 0, int(pw[1]-pw[0])
	for k := 2; k < n; k++ {
		if delta := int(pw[k] - pw[k-1]); delta != last {
			add(i, k-1, last)
			i, last = k-1, delta
		}
	}
	add(i, n-1, last)
	return ms
}

// referenceYear is zxcvbn's REFERENCE_YEAR: years near it are guessed first.
var referenceYear = time.Now().Year()

const minYearSpace = 20

// yearMatch finds 19xx and 20xx, leftmost first, without overlaps.
func yearMatch(ms []match, pw []rune) []match {
	for i := 0; i+3 < len(pw); i++ {
		y, ok := atoi(pw[i : i+4])
		if ok && y >= 1900 && y <= 2099 {
			ms = append(ms, match{pattern: patYear, i: i, j: i + 3,
				lg: math.Log10(float64(max(abs(y-referenceYear), minYearSpace)))})
			i += 3
		}
	}
	return ms
}

// dateSplits are zxcvbn's ways to cut 4 to 8 digits into day, month, year.
var dateSplits = map[int][][2]int{
	4: {{1, 2}, {2, 3}},
	5: {{1, 3}, {2, 3}},
	6: {{1, 2}, {2, 4}, {4, 5}},
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}},
	8: {{2, 4}, {4, 6}},
}

// dateMatch finds dates of 4 to 8 digits ("13121991", "1991-12-13").
func dateMatch(ms []match, pw []rune) []match {
	n := len(pw)
	var found []match
	for i := 0; i+3 < n; i++ {
		for j := i + 3; j <= i+7 && j < n; j++ {
			tok := pw[i : j+1]
			if _, ok := atoi(tok); !ok {
				break
			}
			best, bestDist := 0, -1
			for _, s := range dateSplits[len(tok)] {
				a, _ := atoi(tok[:s[0]])
				b, _ := atoi(tok[s[0]:s[1]])
				c, _ := atoi(tok[s[1]:])
				if y, ok := dmyYear(a, b, c); ok && (bestDist < 0 || abs(y-referenceYear) < bestDist) {
					best, bestDist = y, abs(y-referenceYear)
				}
			}
			if bestDist >= 0 {
				found = append(found, dateMatchAt(i, j, best, false))
			}
		}
	}
	for i := 0; i+5 < n; i++ {
		for j := i + 5; j <= i+9 && j < n; j++ {
			if y, ok := separatedDate(pw[i : j+1]); ok {
				found = append(found, dateMatchAt(i, j, y, true))
			}
		}
	}
	// Drop dates inside longer dates. No two dates span the same runes (one
	// loop's tokens are all digits, the other's are not), and a date is at
	// most 10 runes long, so a date is inside another exactly when one
	// starting up to 9 runes before it, or at it, reaches at least as far.
	reach := make([]int, n) // the furthest end of a date starting at each rune, or -1
	for k := range reach {
		reach[k] = -1
	}
	for _, m := range found {
		reach[m.i] = max(reach[m.i], m.j)
	}
	for _, m := range found {
		inside := reach[m.i] > m.j
		for i := max(0, m.i-9); i < m.i && !inside; i++ {
			inside = reach[i] >= m.j
		}
		if !inside {
			ms = append(ms, m)
		}
	}
	return ms
}

func dateMatchAt(i, j, year int, separator bool) match {
	g := float64(max(abs(year-referenceYear), minYearSpace)) * 365
	if separator {
		g *= 4
	}
	return match{pattern: patDate, i: i, j: j, lg: math.Log10(g)}
}

// separatedDate matches zxcvbn's /^(\d{1,4})([\s/\\_.-])(\d{1,2})\2(\d{1,4})$/.
func separatedDate(tok []rune) (int, bool) {
	isSep := func(r rune) bool {
		return r == '/' || r == '\\' || r == '_' || r == '.' || r == '-' || unicode.IsSpace(r)
	}
	p := 0
	for p < len(tok) && p < 4 && isDigit(tok[p]) {
		p++
	}
	if p == 0 || p >= len(tok) || !isSep(tok[p]) {
		return 0, false
	}
	sep := tok[p]
	q := p + 1
	for q < len(tok) && q-p-1 < 2 && isDigit(tok[q]) {
		q++
	}
	if q == p+1 || q >= len(tok) || tok[q] != sep {
		return 0, false
	}
	last := tok[q+1:]
	if len(last) < 1 || len(last) > 4 {
		return 0, false
	}
	a, _ := atoi(tok[:p])
	b, _ := atoi(tok[p+1 : q])
	c, ok := atoi(last)
	if !ok {
		return 0, false
	}
	return dmyYear(a, b, c)
}

// dmyYear is zxcvbn's map_ints_to_dmy: whether three numbers read as a
// day, a month and a year in some order, and which year.
func dmyYear(a, b, c int) (int, bool) {
	const minYear, maxYear = 1000, 2050
	if b > 31 || b <= 0 {
		return 0, false
	}
	over12, over31, under1 := 0, 0, 0
	for _, v := range [3]int{a, b, c} {
		if (v > 99 && v < minYear) || v > maxYear {
			return 0, false
		}
		if v > 31 {
			over31++
		}
		if v > 12 {
			over12++
		}
		if v <= 0 {
			under1++
		}
	}
	if over31 >= 2 || over12 == 3 || under1 >= 2 {
		return 0, false
	}
	splits := [2][3]int{{c, a, b}, {a, b, c}} // year last, year first
	for _, s := range splits {
		if s[0] >= minYear && s[0] <= maxYear {
			return s[0], isDayMonth(s[1], s[2])
		}
	}
	for _, s := range splits {
		if isDayMonth(s[1], s[2]) {
			switch y := s[0]; {
			case y > 99:
				return y, true
			case y > 50:
				return y + 1900, true
			default:
				return y + 2000, true
			}
		}
	}
	return 0, false
}

func isDayMonth(a, b int) bool {
	return (a >= 1 && a <= 31 && b >= 1 && b <= 12) || (b >= 1 && b <= 31 && a >= 1 && a <= 12)
}

// uppercaseVariations is how many capitalisations of a word an attacker
// tries before this one (zxcvbn's rule, with Unicode case).
func uppercaseVariations(tok []rune) float64 {
	upper, lower := 0, 0
	for _, r := range tok {
		switch {
		case isUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		}
	}
	if upper == 0 {
		return 1
	}
	last := len(tok) - 1
	startUpper := isUpper(tok[0]) && upper == 1
	endUpper := isUpper(tok[last]) && upper == 1
	if startUpper || endUpper || lower == 0 {
		return 2
	}
	v := 0.0
	for k := 1; k <= min(upper, lower); k++ {
		v += nCk(upper+lower, k)
	}
	return v
}

// l33tVariations is zxcvbn's: each substitution used doubles the space if
// applied to every occurrence, else counts the ways to mix both spellings.
func l33tVariations(tok []rune, sub map[rune]rune) float64 {
	v := 1.0
	for c, letter := range sub {
		s, u := 0, 0
		for _, r := range tok {
			switch r {
			case c:
				s++
			case letter:
				u++
			}
		}
		if s == 0 {
			continue // substitute not in this token
		}
		if u == 0 {
			v *= 2
			continue
		}
		p := 0.0
		for k := 1; k <= min(s, u); k++ {
			p += nCk(s+u, k)
		}
		v *= p
	}
	return v
}

func nCk(n, k int) float64 {
	if k > n {
		return 0
	}
	r := 1.0
	for d := 1; d <= k; d++ {
		r = r * float64(n) / float64(d)
		n--
	}
	return r
}

func atoi(rs []rune) (int, bool) {
	v := 0
	for _, r := range rs {
		if !isDigit(r) {
			return 0, false
		}
		v = v*10 + int(r-'0')
	}
	return v, len(rs) > 0
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isUpper(r rune) bool { return unicode.IsUpper(r) || unicode.IsTitle(r) }

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// lowerRunes lowercases rune by rune, so positions stay aligned with the
// original (strings.ToLower may change the rune count).
func lowerRunes(rs []rune) []rune {
	out := make([]rune, len(rs))
	for k, r := range rs {
		out[k] = unicode.ToLower(r)
	}
	return out
}

func lowerString(s string) string { return string(lowerRunes([]rune(s))) }

func reversedRunes(rs []rune) []rune {
	out := slices.Clone(rs)
	slices.Reverse(out)
	return out
}

// joinRunes encodes rs once and returns the byte offset of every rune
// (plus the end), so substrings for map lookups cost no allocation.
func joinRunes(rs []rune) (string, []int) {
	buf := make([]byte, 0, len(rs)*2)
	off := make([]int, len(rs)+1)
	for k, r := range rs {
		off[k] = len(buf)
		buf = utf8.AppendRune(buf, r)
	}
	off[len(rs)] = len(buf)
	return string(buf), off
}
