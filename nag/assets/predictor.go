package assets

import _ "embed"

// predictor_nb201_official.ckpt is the default noise-aware meta-predictor
// (kind "nb201-predictor", see nag/predictor): the paper configuration
// (DiGCN 4x144, time embedding, set encoder, head) meta-trained only on the
// official DiffusionNAG ImageNet-32 labels (4,230 training entries, no
// dataset features, so every task used the learned unknown-dataset vector;
// never any CIFAR accuracy). The command that produced it and its held-out
// numbers are in the README (train-predictor section).
//
//go:embed predictor_nb201_official.ckpt
var predictorNB201 []byte

// PredictorNB201Bytes returns the raw embedded predictor checkpoint
// (decode with predictor.LoadBytes).
func PredictorNB201Bytes() []byte { return predictorNB201 }
