package i18n

import "sync"

// PerLang is a value built for each language on first use. Templates
// compiled per language are the biggest part of an idle server's heap,
// and a language nobody has asked for need not be held.
type PerLang[T any] struct {
	build func(Lang) (T, error)
	slots map[Lang]*perLangSlot[T]
}

type perLangSlot[T any] struct {
	once sync.Once
	v    T
	err  error
}

// NewPerLang returns a PerLang that calls build once per supported
// language, when the language is first asked for.
func NewPerLang[T any](build func(Lang) (T, error)) *PerLang[T] {
	p := &PerLang[T]{build: build, slots: map[Lang]*perLangSlot[T]{}}
	for _, l := range Supported() {
		p.slots[l] = &perLangSlot[T]{}
	}
	return p
}

// Get returns l's value, or Default's for a language not supported.
func (p *PerLang[T]) Get(l Lang) (T, error) {
	s, ok := p.slots[l]
	if !ok {
		l, s = Default, p.slots[Default]
	}
	s.once.Do(func() { s.v, s.err = p.build(l) })
	return s.v, s.err
}
