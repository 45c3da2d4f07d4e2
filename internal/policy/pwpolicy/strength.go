package pwpolicy

import (
	"cmp"
	"math"
	"slices"
	"unicode"
)

// MaxAnalysedRunes is how much of a password the strength estimate reads.
// Authentik passes password[:100] to zxcvbn for the same reason: the
// estimate's cost grows with the cube of the length, and a password that
// long scores 4 unless it is a long repeat, which its first 100 runes
// already show. The static rules and the common-password check read the
// whole password.
const MaxAnalysedRunes = 100

// zxcvbn's constants (scoring.coffee).
const (
	minGuessesBeforeGrowingSequence = 4 // log10(10000)
	scoreDelta                      = 5
)

// The minimum guesses of a match shorter than the password (10 for one
// rune, 50 for more); brute force costs one guess more, so that any other
// match over the same runes wins.
var (
	log10MinSubmatchSingle = math.Log10(10)
	log10MinSubmatchMulti  = math.Log10(50)

	log10MinBruteforceSingle = math.Log10(11)
	log10MinBruteforceMulti  = math.Log10(51)
)

// Strength estimates how hard password is to guess, zxcvbn-style, as a
// score from 0 (guessable in under 10³ tries) to 4 (10¹⁰ or more), with
// zxcvbn's feedback when the score is 2 or less. userInputs (username,
// name, email) count as the cheapest dictionary words.
func Strength(password string, userInputs []string) (score int, feedback []Message) {
	r := analyse(password, userInputs)
	return r.score, r.feedback()
}

type analysis struct {
	pw    []rune
	lg    float64 // log10 of the guesses
	seq   []match // the cheapest way to build pw from matches
	score int
}

func analyse(password string, userInputs []string) analysis {
	pw := prefixRunes(password, MaxAnalysedRunes)
	a := &analyzer{dicts: []*dictionary{bundled()}}
	if ud := userDictionary(userInputs); len(ud.words) > 0 {
		a.dicts = append(a.dicts, ud)
	}
	lg, seq := a.mostGuessable(pw)
	return analysis{pw: pw, lg: lg, seq: seq, score: scoreOf(lg)}
}

// scoreOf maps guesses to zxcvbn's score.
func scoreOf(lg float64) int {
	for score, limit := range [4]float64{1e3, 1e6, 1e8, 1e10} {
		if lg < math.Log10(limit+scoreDelta) {
			return score
		}
	}
	return 4
}

// cell is one entry of zxcvbn's dynamic programme: the best way found to
// build the prefix ending at m.j from l matches, m being the last.
type cell struct {
	l     int
	g, pi float64 // log10 of the total guesses, and of the matches' product
	m     match
}

// mostGuessable is zxcvbn's most_guessable_match_sequence in log10 space
// (the products overflow float64 long before 100 runes): it finds the
// sequence of non-overlapping matches, with brute force filling the gaps,
// that minimises l!·∏guesses + 10000^(l-1).
func (a *analyzer) mostGuessable(pw []rune) (float64, []match) {
	n := len(pw)
	if n == 0 {
		return 0, nil
	}
	ms := a.omnimatch(pw)
	byJ := make([][]int, n)
	for k, m := range ms {
		byJ[m.j] = append(byJ[m.j], k)
	}
	for _, ks := range byJ {
		// By start, cheapest first: of several matches over the same runes
		// only the cheapest can be part of an optimal sequence (on a tie
		// the first found, as zxcvbn's update keeps it), so the loop below
		// skips the rest.
		slices.SortStableFunc(ks, func(x, y int) int {
			if ms[x].i != ms[y].i {
				return ms[x].i - ms[y].i
			}
			return cmp.Compare(ms[x].lg, ms[y].lg)
		})
	}
	guesses := func(m *match) float64 {
		length := m.j - m.i + 1
		lg := m.lg
		if m.pattern == patBruteforce {
			lg = float64(length) // cardinality 10, as zxcvbn
			if length == 1 {
				lg = max(lg, log10MinBruteforceSingle)
			} else {
				lg = max(lg, log10MinBruteforceMulti)
			}
		}
		if length < n {
			if length == 1 {
				lg = max(lg, log10MinSubmatchSingle)
			} else {
				lg = max(lg, log10MinSubmatchMulti)
			}
		}
		return lg
	}
	opt := make([][]cell, n)
	// update offers m as the l-th match of a sequence whose first l-1
	// matches cost prevPi (log10), keeping it if no sequence of at most l
	// matches covers the same prefix for fewer guesses.
	update := func(m *match, lg float64, l int, prevPi float64) {
		k := m.j
		pi := lg + prevPi
		main, additive := logFactorial(l)+pi, float64(l-1)*minGuessesBeforeGrowingSequence
		cells := opt[k]
		// g is at least max(main, additive): most candidates lose to a
		// shorter sequence already on that bound, without the costly sum.
		for x := range cells {
			if cells[x].l <= l && cells[x].g <= max(main, additive) {
				return
			}
		}
		g := logAdd(main, additive)
		for x := range cells {
			if cells[x].l <= l && cells[x].g <= g {
				return
			}
		}
		c := cell{l: l, g: g, pi: pi, m: *m}
		c.m.lg = lg
		for x := range cells {
			if cells[x].l == l {
				cells[x] = c
				return
			}
		}
		opt[k] = append(cells, c)
	}
	for k := range n {
		for y, x := range byJ[k] {
			m := &ms[x]
			if y > 0 && ms[byJ[k][y-1]].i == m.i {
				continue
			}
			lg := guesses(m)
			if m.i == 0 {
				update(m, lg, 1, 0)
				continue
			}
			prev := opt[m.i-1]
			for x := range prev {
				update(m, lg, prev[x].l+1, prev[x].pi)
			}
		}
		bf := match{pattern: patBruteforce, i: 0, j: k}
		update(&bf, guesses(&bf), 1, 0)
		for i := 1; i <= k; i++ {
			bf.i = i
			lg := guesses(&bf)
			prev := opt[i-1]
			for x := range prev {
				if prev[x].m.pattern != patBruteforce { // two brute-force runs in a row are one run
					update(&bf, lg, prev[x].l+1, prev[x].pi)
				}
			}
		}
	}
	best := opt[n-1][0]
	for _, c := range opt[n-1][1:] {
		if c.g < best.g || (c.g == best.g && c.l < best.l) {
			best = c
		}
	}
	seq := make([]match, best.l)
	for k, l := n-1, best.l; k >= 0; l-- {
		c := find(opt[k], l)
		seq[l-1] = c.m
		k = c.m.i - 1
	}
	return best.g, seq
}

func find(cells []cell, l int) cell {
	for _, c := range cells {
		if c.l == l {
			return c
		}
	}
	panic("pwpolicy: no cell for this length") // unreachable: callers pass lengths taken from cells
}

var log10Factorials = func() [MaxAnalysedRunes + 2]float64 {
	var t [MaxAnalysedRunes + 2]float64
	for k := 2; k < len(t); k++ {
		t[k] = t[k-1] + math.Log10(float64(k))
	}
	return t
}()

func logFactorial(l int) float64 { return log10Factorials[l] }

// logAdd is log10(10^a + 10^b).
func logAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return a + math.Log10(1+math.Pow(10, b-a))
}

// feedback is zxcvbn's get_feedback: nothing for a good password, advice
// about the longest match for a weak one.
func (r analysis) feedback() []Message {
	if len(r.seq) == 0 {
		return []Message{fixed(CodeUseWords), fixed(CodeNoNeedSymbols)}
	}
	if r.score > 2 {
		return nil
	}
	longest := r.seq[0]
	for _, m := range r.seq[1:] {
		if m.j-m.i > longest.j-longest.i {
			longest = m
		}
	}
	warning, suggestions := matchFeedback(longest, len(r.seq) == 1, r.pw[longest.i:longest.j+1])
	var out []Message
	if warning != "" {
		out = append(out, fixed(warning))
	}
	out = append(out, fixed(CodeAddWord))
	for _, s := range suggestions {
		out = append(out, fixed(s))
	}
	return out
}

func matchFeedback(m match, sole bool, tok []rune) (warning string, suggestions []string) {
	switch m.pattern {
	case patDictionary:
		return dictionaryFeedback(m, sole, tok)
	case patSpatial:
		if m.turns == 1 {
			return CodeStraightRows, []string{CodeLongerKeyboard}
		}
		return CodeKeyboardPattern, []string{CodeLongerKeyboard}
	case patRepeat:
		if m.baseLen == 1 {
			return CodeRepeatsSingle, []string{CodeAvoidRepeats}
		}
		return CodeRepeats, []string{CodeAvoidRepeats}
	case patSequence:
		return CodeSequences, []string{CodeAvoidSequences}
	case patYear:
		return CodeRecentYears, []string{CodeAvoidRecentYears, CodeAvoidAssocYears}
	case patDate:
		return CodeDates, []string{CodeAvoidDates}
	}
	return "", nil
}

func dictionaryFeedback(m match, sole bool, tok []rune) (warning string, suggestions []string) {
	switch m.entry.list() {
	case listPasswords:
		switch {
		case sole && !m.l33t && !m.reversed && m.entry.rank() <= 10:
			warning = CodeTop10
		case sole && !m.l33t && !m.reversed && m.entry.rank() <= 100:
			warning = CodeTop100
		case sole && !m.l33t && !m.reversed:
			warning = CodeVeryCommon
		case m.lg <= 4:
			warning = CodeSimilarToCommon
		}
	case listEnglish:
		if sole {
			warning = CodeWordByItself
		}
	case listSurnames, listMaleNames, listFemaleNames:
		if sole {
			warning = CodeNamesByThemselves
		} else {
			warning = CodeCommonNames
		}
	case listUserInputs:
		warning = CodeUserInputs
	}
	upper, lower := 0, 0
	for _, r := range tok {
		if isUpper(r) {
			upper++
		} else if unicode.IsLower(r) {
			lower++
		}
	}
	switch {
	case len(tok) > 1 && upper == 1 && isUpper(tok[0]):
		suggestions = append(suggestions, CodeCapitalization)
	case upper > 0 && lower == 0:
		suggestions = append(suggestions, CodeAllUppercase)
	}
	if m.reversed && len(tok) >= 4 {
		suggestions = append(suggestions, CodeReversed)
	}
	if m.l33t {
		suggestions = append(suggestions, CodeL33t)
	}
	return warning, suggestions
}

// prefixRunes decodes at most limit runes of s without decoding the rest.
func prefixRunes(s string, limit int) []rune {
	out := make([]rune, 0, min(len(s), limit))
	for _, r := range s {
		if len(out) == limit {
			break
		}
		out = append(out, r)
	}
	return out
}
