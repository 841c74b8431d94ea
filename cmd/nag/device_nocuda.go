//go:build !cuda

package main

import "github.com/nagml/nag/autograd/optim"

type optimizerT = optim.Optimizer

func openCUDA() (accel, error) { return nil, errNoCUDA }
