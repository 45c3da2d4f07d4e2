package storetest

import (
	"errors"
	"sync"
	"testing"
)

// race runs n writers at once and returns how many succeeded; each loser
// must fail with lose, anything else fails the test.
func race(t *testing.T, what string, n int, lose error, write func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- write(i) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, lose):
			t.Fatalf("%s: want success or %v, got %v", what, lose, err)
		}
	}
	return won
}
