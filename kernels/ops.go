package kernels

// Op codes shared by the Go launchers and the CUDA kernels. The values must
// match the #defines in elementwise.cu and reduce.cu (TestOpCodesMatchSources
// checks this without a GPU).

// BinOp selects a binary element-wise op (NAG_ADD ... in elementwise.cu).
type BinOp int

// Binary ops.
const (
	Add BinOp = 0
	Sub BinOp = 1
	Mul BinOp = 2
	Div BinOp = 3
)

// UnOp selects a unary op or activation (NAG_U_* in elementwise.cu).
type UnOp int

// Unary ops. Their parameter p: ELU's alpha, Scale's factor, AddScalar's addend.
const (
	Neg       UnOp = 0
	Exp       UnOp = 1
	Log       UnOp = 2
	Sqrt      UnOp = 3
	Square    UnOp = 4
	Abs       UnOp = 5
	ReLU      UnOp = 6
	ReLU6     UnOp = 7
	SiLU      UnOp = 8
	Tanh      UnOp = 9
	Sigmoid   UnOp = 10
	GELU      UnOp = 11
	ELU       UnOp = 12
	Scale     UnOp = 13
	AddScalar UnOp = 14
	// NoAct means "no activation" in BiasAct and Linear.
	NoAct UnOp = -1
)

// ReduceOp selects a reduction (NAG_R_* in reduce.cu).
type ReduceOp int

// Reductions.
const (
	ReduceSum  ReduceOp = 0
	ReduceMean ReduceOp = 1
	ReduceMax  ReduceOp = 2
)
