package expression

import (
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Regular expressions: regex_match and regex_replace.
//
// Go's RE2 engine runs in time linear in its input, but also in the size
// of the compiled pattern: a search costs up to (characters read) ×
// (instructions), about 60 ns each, and a short pattern can compile to
// many instructions ("[\s\S]{1000}" is a thousand). Compiling takes memory
// in proportion, and a search, once started, cannot be stopped from
// outside. So patterns are bounded in text and in compiled size before
// they are compiled; a search reads its input through regexpInput, which
// spends steps for each character and ends the input, and with it the
// search, when the run is stopped; the cache of compiled patterns is
// bounded in bytes; and regex_replace searches once per match, stopping
// between them (Go's ReplaceAllString may rescan the rest of the input
// for every match: quadratic, minutes for 100 kB).

const (
	// maxPatternLen bounds the text of a pattern, in bytes.
	maxPatternLen = 4096
	// maxPatternInsts bounds the instructions of a compiled pattern.
	maxPatternInsts = 2000
	// regexpCacheBytes bounds the memory of the cache of compiled
	// patterns, as estimated by regexpCost.
	regexpCacheBytes = 4 << 20
	// regexpCacheSize bounds the number of cached patterns.
	regexpCacheSize = 256
)

// regexpCost estimates the bytes a compiled pattern keeps: measured with
// runtime.MemStats, about 20 to 45 bytes per instruction plus a few
// kilobytes whatever the size.
func regexpCost(pattern string, insts int) int { return 4096 + len(pattern) + 64*insts }

type compiledRegexp struct {
	re    *regexp.Regexp
	insts int // as estimated by progSize
	cost  int // bytes counted against regexpCacheBytes
}

// The cache keeps compiled patterns across runs; when the next one would
// not fit, it is emptied (patterns come from a handful of stored
// expressions; one that builds patterns in a loop only evicts its own).
var regexpCache = struct {
	sync.Mutex
	m     map[string]*compiledRegexp
	bytes int
}{m: map[string]*compiledRegexp{}}

// cachedRegexp compiles pattern, or finds it compiled, refusing patterns
// that would compile to more than maxInsts instructions.
func cachedRegexp(pattern string, maxInsts int) (*compiledRegexp, error) {
	regexpCache.Lock()
	c, ok := regexpCache.m[pattern]
	regexpCache.Unlock()
	if ok {
		return c, nil
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	insts := progSize(parsed)
	if insts > maxInsts {
		return nil, fmt.Errorf("pattern too large (about %d instructions compiled, the limit is %d)", insts, maxInsts)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	c = &compiledRegexp{re: re, insts: insts, cost: regexpCost(pattern, insts)}
	regexpCache.Lock()
	defer regexpCache.Unlock()
	if cached, ok := regexpCache.m[pattern]; ok {
		return cached, nil // compiled meanwhile by another run
	}
	if len(regexpCache.m) >= regexpCacheSize || regexpCache.bytes+c.cost > regexpCacheBytes {
		clear(regexpCache.m)
		regexpCache.bytes = 0
	}
	regexpCache.m[pattern] = c
	regexpCache.bytes += c.cost
	return c, nil
}

// progSize estimates, without building it, the number of instructions
// re compiles to (as regexp/syntax.Compile would, after Simplify expands
// the counted repetitions).
func progSize(re *syntax.Regexp) int {
	const huge = 1 << 30
	sub := func() int {
		if len(re.Sub) == 0 {
			return 0
		}
		return progSize(re.Sub[0])
	}
	switch re.Op {
	case syntax.OpLiteral:
		return max(len(re.Rune), 1)
	case syntax.OpCapture:
		return 2 + sub()
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		return 1 + sub()
	case syntax.OpRepeat: // x{2,} is xxx*, x{2,4} is xx(x(x)?)?
		n := sub()
		if re.Max < 0 {
			return min(huge, re.Min*n+1+n)
		}
		return min(huge, re.Max*n+re.Max-re.Min)
	case syntax.OpConcat, syntax.OpAlternate:
		n := 0
		if re.Op == syntax.OpAlternate {
			n = len(re.Sub) - 1
		}
		for _, s := range re.Sub {
			n = min(huge, n+progSize(s))
		}
		return n
	}
	return 1
}

// regexp compiles a pattern given to a helper, within the bounds.
func (r *run) regexp(pattern string) (*compiledRegexp, error) {
	if len(pattern) > maxPatternLen {
		return nil, fmt.Errorf("pattern too long (%d bytes, the limit is %d)", len(pattern), maxPatternLen)
	}
	return cachedRegexp(pattern, maxPatternInsts)
}

// regexpInput is the input of one search from s[i:]. Each character read
// spends steps in proportion to the pattern's size; once the run is
// stopped the input ends, and so does the search.
type regexpInput struct {
	r    *run
	s    string
	i    int
	cost int
	err  error
}

func (r *run) regexpInput(c *compiledRegexp, s string, from int) *regexpInput {
	return &regexpInput{r: r, s: s, i: from, cost: 1 + c.insts/4}
}

func (in *regexpInput) ReadRune() (rune, int, error) {
	if in.err != nil || in.i >= len(in.s) {
		return 0, 0, io.EOF
	}
	if in.err = in.r.spend(in.cost); in.err != nil {
		return 0, 0, in.err
	}
	c, w := utf8.DecodeRuneInString(in.s[in.i:])
	in.i += w
	return c, w, nil
}

func regexMatch(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var value, pattern string
	if err := starlark.UnpackPositionalArgs("regex_match", args, kwargs, 2, &value, &pattern); err != nil {
		return nil, err
	}
	r := runOf(thread)
	c, err := r.regexp(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex_match: %v", err)
	}
	in := r.regexpInput(c, value, 0)
	matched := c.re.MatchReader(in)
	if in.err != nil {
		return nil, in.err
	}
	return starlark.Bool(matched), nil
}

func regexReplace(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var value, pattern, repl string
	if err := starlark.UnpackPositionalArgs("regex_replace", args, kwargs, 3, &value, &pattern, &repl); err != nil {
		return nil, err
	}
	r := runOf(thread)
	c, err := r.regexp(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex_replace: %v", err)
	}
	out, err := r.replaceAll(c, pattern, value, pythonReplacement(repl))
	if err != nil {
		return nil, fmt.Errorf("regex_replace: %w", err)
	}
	return r.result("regex_replace", starlark.String(out), nil)
}

// replaceAll is Go's ReplaceAllString(src, template), one search at a
// time, refusing to build more than MaxValueLen bytes.
func (r *run) replaceAll(c *compiledRegexp, pattern, src, template string) (string, error) {
	var next *compiledRegexp // see search
	// A match expands to at most the template plus, for each group
	// reference, the match itself.
	refs := strings.Count(template, "$")
	max := r.lim.MaxValueLen
	var dst []byte
	lastMatchEnd, searchPos := 0, 0
	for searchPos <= len(src) {
		a, err := r.search(c, &next, pattern, src, searchPos)
		if err != nil || a == nil {
			if err != nil {
				return "", err
			}
			break
		}
		dst = append(dst, src[lastMatchEnd:a[0]]...)
		// As Go: no replacement for an empty match right after a match.
		if a[1] > lastMatchEnd || a[0] == 0 {
			if n := len(dst) + len(template) + refs*(a[1]-a[0]); n > max {
				return "", tooLarge("regex_replace", n, max, "string")
			}
			dst = c.re.ExpandString(dst, template, src, a)
		}
		lastMatchEnd = a[1]
		// Advance past this match; always advance at least one character.
		_, width := utf8.DecodeRuneInString(src[searchPos:])
		switch {
		case searchPos+width > a[1]:
			searchPos += width
		case searchPos+1 > a[1]:
			searchPos++ // at the end of src, where width is 0
		default:
			searchPos = a[1]
		}
	}
	if n := len(dst) + len(src) - lastMatchEnd; n > max {
		return "", tooLarge("regex_replace", n, max, "string")
	}
	return string(append(dst, src[lastMatchEnd:]...)), nil
}

// search finds the leftmost match of c in src that starts at pos or later,
// seeing src[:pos] as what precedes it (for ^, \b and the like). A reader
// cannot start in the middle of a text, so after the start a search reads
// from the character before pos with the pattern "(?s:.)(?:pattern)",
// compiled on first use into *next: its leftmost match is the pattern's
// leftmost match from pos, one character earlier.
func (r *run) search(c *compiledRegexp, next **compiledRegexp, pattern, src string, pos int) ([]int, error) {
	if pos == 0 {
		in := r.regexpInput(c, src, 0)
		a := c.re.FindReaderSubmatchIndex(in)
		return a, in.err
	}
	if *next == nil {
		var err error
		if *next, err = cachedRegexp("(?s:.)(?:"+pattern+")", maxPatternInsts+8); err != nil {
			return nil, err
		}
	}
	_, w := utf8.DecodeLastRuneInString(src[:pos])
	start := pos - w
	in := r.regexpInput(*next, src, start)
	a := (*next).re.FindReaderSubmatchIndex(in)
	if in.err != nil || a == nil {
		return nil, in.err
	}
	for i := range a {
		if a[i] >= 0 {
			a[i] += start
		}
	}
	_, w = utf8.DecodeRuneInString(src[a[0]:])
	a[0] += w
	return a, nil
}

// pythonReplacement translates a Python re.sub replacement (\1, \g<1>,
// \g<name>, \n, \\) into a Go regexp template ($1, ${name}, $$).
func pythonReplacement(repl string) string {
	var sb strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c == '$' {
			sb.WriteString("$$")
			continue
		}
		if c != '\\' || i+1 == len(repl) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch c := repl[i]; {
		case c >= '0' && c <= '9':
			j := i + 1
			if j < len(repl) && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			fmt.Fprintf(&sb, "${%s}", repl[i:j])
			i = j - 1
		case c == 'g' && i+1 < len(repl) && repl[i+1] == '<' && strings.IndexByte(repl[i:], '>') > 0:
			end := i + strings.IndexByte(repl[i:], '>')
			fmt.Fprintf(&sb, "${%s}", repl[i+2:end])
			i = end
		case c == 'n':
			sb.WriteByte('\n')
		case c == 't':
			sb.WriteByte('\t')
		case c == 'r':
			sb.WriteByte('\r')
		case c == '\\':
			sb.WriteByte('\\')
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
