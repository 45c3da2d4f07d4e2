package pwpolicy

import (
	"math"
	"strings"
)

// keyboard is an adjacency graph of keys, built from a layout the way
// zxcvbn's build script builds adjacency_graphs.coffee: each key is a
// string of the characters it types (unshifted first), placed on a grid;
// a slanted keyboard (qwerty) has six neighbours per key, an aligned one
// (keypad) eight.
type keyboard struct {
	name   string
	pos    map[rune]keyPos
	keys   map[[2]int]string
	dirs   [][2]int
	starts float64 // zxcvbn's STARTING_POSITIONS: characters in the graph
	degree float64 // zxcvbn's AVERAGE_DEGREE
}

type keyPos struct {
	at      [2]int
	shifted bool
}

var (
	slanted = [][2]int{{-1, 0}, {0, -1}, {1, -1}, {1, 0}, {0, 1}, {-1, 1}}
	aligned = [][2]int{{-1, 0}, {-1, -1}, {0, -1}, {1, -1}, {1, 0}, {1, 1}, {0, 1}, {-1, 1}}
)

// keyboards are the layouts zxcvbn checks that matter most: US qwerty and
// the numeric keypad. "" is a gap.
var keyboards = []*keyboard{
	newKeyboard("qwerty", slanted, [][]string{
		{"`~", "1!", "2@", "3#", "4$", "5%", "6^", "7&", "8*", "9(", "0)", "-_", "=+"},
		{"", "qQ", "wW", "eE", "rR", "tT", "yY", "uU", "iI", "oO", "pP", "[{", "]}", `\|`},
		{"", "aA", "sS", "dD", "fF", "gG", "hH", "jJ", "kK", "lL", ";:", `'"`},
		{"", "zZ", "xX", "cC", "vV", "bB", "nN", "mM", ",<", ".>", "/?"},
	}),
	newKeyboard("keypad", aligned, [][]string{
		{"", "/", "*", "-"},
		{"7", "8", "9", "+"},
		{"4", "5", "6"},
		{"1", "2", "3"},
		{"", "0", "."},
	}),
}

func newKeyboard(name string, dirs [][2]int, rows [][]string) *keyboard {
	kb := &keyboard{name: name, pos: map[rune]keyPos{}, keys: map[[2]int]string{}, dirs: dirs}
	for y, row := range rows {
		for x, key := range row {
			if key == "" {
				continue
			}
			kb.keys[[2]int{x, y}] = key
			for k, r := range []rune(key) {
				kb.pos[r] = keyPos{at: [2]int{x, y}, shifted: k == 1}
			}
		}
	}
	edges := 0
	for _, p := range kb.pos {
		for _, d := range dirs {
			if _, ok := kb.keys[[2]int{p.at[0] + d[0], p.at[1] + d[1]}]; ok {
				edges++
			}
		}
	}
	kb.starts = float64(len(kb.pos))
	kb.degree = float64(edges) / kb.starts
	return kb
}

// step reports whether cur is next to prev, in which direction, and
// whether cur is the shifted character of its key.
func (kb *keyboard) step(prev, cur rune) (dir int, shifted, ok bool) {
	p, found := kb.pos[prev]
	if !found {
		return 0, false, false
	}
	for d, off := range kb.dirs {
		key, exists := kb.keys[[2]int{p.at[0] + off[0], p.at[1] + off[1]}]
		if !exists {
			continue
		}
		if k := strings.IndexRune(key, cur); k >= 0 {
			return d, k == 1, true
		}
	}
	return 0, false, false
}

// match appends zxcvbn's spatial matches: chains of three or more
// adjacent keys, counting direction changes (turns) and shifted keys.
func (kb *keyboard) match(ms []match, pw []rune) []match {
	for i := 0; i < len(pw)-1; {
		j, turns, last := i+1, 0, -1
		shifted := 0
		if p, ok := kb.pos[pw[i]]; ok && p.shifted {
			shifted = 1
		}
		for j < len(pw) {
			dir, sh, ok := kb.step(pw[j-1], pw[j])
			if !ok {
				break
			}
			if sh {
				shifted++
			}
			if dir != last {
				turns++
				last = dir
			}
			j++
		}
		if j-i > 2 {
			ms = append(ms, match{pattern: patSpatial, i: i, j: j - 1, turns: turns,
				lg: math.Log10(kb.guesses(j-i, turns, shifted))})
		}
		i = j
	}
	return ms
}

// guesses is zxcvbn's spatial estimate: the patterns of length up to n
// with up to turns turns, times the ways to shift some of the keys.
func (kb *keyboard) guesses(n, turns, shifted int) float64 {
	g := 0.0
	for i := 2; i <= n; i++ {
		for j := 1; j <= min(turns, i-1); j++ {
			g += nCk(i-1, j-1) * kb.starts * math.Pow(kb.degree, float64(j))
		}
	}
	if shifted > 0 {
		unshifted := n - shifted
		if unshifted == 0 {
			g *= 2
		} else {
			v := 0.0
			for k := 1; k <= min(shifted, unshifted); k++ {
				v += nCk(n, k)
			}
			g *= v
		}
	}
	return g
}
