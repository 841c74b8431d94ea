package main

import (
	"reflect"
	"testing"
)

func TestSpaceMBV3(t *testing.T) {
	cases := []struct {
		args []string
		rest []string
		ok   bool
	}{
		{[]string{"--space", "mbv3", "--iters", "5"}, []string{"--iters", "5"}, true},
		{[]string{"--iters", "5", "-space=mbv3"}, []string{"--iters", "5"}, true},
		{[]string{"--space", "nb201", "--iters", "5"}, nil, false},
		{[]string{"--iters", "5"}, nil, false},
		{[]string{"--", "--space", "mbv3"}, nil, false},
	}
	for _, c := range cases {
		rest, ok := spaceMBV3(c.args)
		if ok != c.ok || (ok && !reflect.DeepEqual(rest, c.rest)) {
			t.Errorf("spaceMBV3(%q) = %q, %v; want %q, %v", c.args, rest, ok, c.rest, c.ok)
		}
	}
}
