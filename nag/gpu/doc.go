// Package gpu runs nag's models with every weight, activation, gradient and
// optimiser state resident on a CUDA device (build tag cuda; the default
// build holds only this documentation).
//
// It is the device-resident model runner of the plan in kernels/doc.go: each
// model is a fixed stack, so instead of a device autograd tape the runner
// holds an explicit forward (launchers of package kernels into preallocated
// activation buffers) and a hand-written backward in reverse order,
// accumulating into one flat gradient buffer (kernels.ParamSet) so that an
// optimiser step is a single fused Adam+EMA launch.
//
//   - CATE runs the score network: Score (eval: fused masked attention, the
//     whole forward replayed as one CUDA graph captured on first use) and
//     TrainStep (dropout drawn from a counter-based Philox stream, unfused
//     attention so the attention weights can be dropped, DSM loss, gradient
//     clipping, Adam + EMA).
//   - Predictor computes the meta-predictor's prediction and its gradient
//     with respect to the input node matrix, the guidance term (also a
//     graph).
//   - ScoreFn / GuidedScoreFn adapt both to sde.ScoreFn, so the reference
//     sampler of package sde (host noise, host SDE arithmetic on 256 x 56
//     values) drives the device networks: per evaluation one upload of x, one
//     graph launch per network, one download of the (guided) score.
//   - Trainer adapts CATE to diffusion.Accelerator (nag train-score
//     --device cuda); Bench times everything (nag bench --device cuda).
//
// Everything is checked against the CPU models of package gnn for the same
// weights and inputs (gpu_cuda_test.go, run on a GPU machine by
// scripts/gpu-check.sh).
package gpu
