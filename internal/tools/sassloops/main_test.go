package main

import (
	"reflect"
	"testing"
)

// A cut-down cuobjdump listing: one loop (0x0020..0x0060, 3 FFMA of 5
// instructions) closed by a predicated backward branch, a forward branch
// that is not a loop, and a second function without loops.
const sample = `
	code for sm_90
		Function : k1
	.headerflags    @"EF_CUDA_SM90 EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   MOV R1, c[0x0][0x28] ;                 /* 0x00000a0000017a02 */
        /*0010*/              @!P0 BRA 0x80 ;                             /* 0x0000000000000947 */
        /*0020*/                   LDS.128 R4, [R2] ;                     /* 0x0000000002047984 */
        /*0030*/                   FFMA R8, R4, R5, R8 ;                  /* 0x0000000504087223 */
        /*0040*/                   FFMA R9, R4, R6, R9 ;                  /* 0x0000000604097223 */
        /*0050*/                   FFMA R10, R4, R7, R10 ;                /* 0x00000007040a7223 */
        /*0060*/               @P1 BRA 0x20 ;                             /* 0xfffffffc00fc1947 */
        /*0070*/                   STG.E [R2.64], R8 ;                    /* 0x0000000802007986 */
        /*0080*/                   EXIT ;                                 /* 0x000000000000794d */
		..........
		Function : k2
        /*0000*/                   FFMA R8, R4, R5, R8 ;                  /* 0x0000000504087223 */
        /*0010*/                   EXIT ;                                 /* 0x000000000000794d */
`

func TestParseSASSLoops(t *testing.T) {
	fs := ParseSASS(sample)
	if len(fs) != 2 || fs[0].Name != "k1" || fs[1].Name != "k2" {
		t.Fatalf("functions = %v, want k1, k2", fs)
	}
	if len(fs[0].Instrs) != 9 || len(fs[1].Instrs) != 2 {
		t.Fatalf("instruction counts %d, %d, want 9, 2", len(fs[0].Instrs), len(fs[1].Instrs))
	}
	loops := fs[0].Loops(1)
	if len(loops) != 1 {
		t.Fatalf("loops = %+v, want one", loops)
	}
	l := loops[0]
	if l.Start != 2 || l.End != 6 || l.Len != 5 || l.FFMA != 3 {
		t.Errorf("loop = %+v, want instructions 2..6, 5 long, 3 FFMA", l)
	}
	if got := l.Others(5); got != "BRA:1 LDS:1" {
		t.Errorf("Others = %q, want %q", got, "BRA:1 LDS:1")
	}
	if got := fs[0].Loops(4); len(got) != 0 {
		t.Errorf("Loops(4) = %+v, want none (the loop has 3 FFMA)", got)
	}
	if got := fs[1].Loops(0); len(got) != 0 {
		t.Errorf("k2 loops = %+v, want none", got)
	}
}

func TestOpcode(t *testing.T) {
	for in, want := range map[string]string{
		"@!P0 LDG.E.128 R4, [R2.64]":  "LDG",
		"@P1 BRA 0x20":                "BRA",
		"@!UPT UIADD3 UR4, UR4, 1":    "UIADD3",
		"FFMA R8, R4, R5, R8":         "FFMA",
		"BAR.SYNC.DEFER_BLOCKING 0x0": "BAR",
	} {
		if got := Opcode(in); got != want {
			t.Errorf("Opcode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseResources(t *testing.T) {
	out := `ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'sgemm_a' for 'sm_90'
ptxas info    : Function properties for sgemm_a
    24 bytes stack frame, 20 bytes spill stores, 16 bytes spill loads
ptxas info    : Used 168 registers, 25600 bytes smem, 472 bytes cmem[0]
ptxas info    : Compiling entry function 'sgemm_b' for 'sm_90'
ptxas info    : Function properties for sgemm_b
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 127 registers, 16896 bytes smem, 472 bytes cmem[0]
`
	want := map[string]Resources{
		"sgemm_a": {Registers: 168, SpillStores: 20, SpillLoads: 16},
		"sgemm_b": {Registers: 127},
	}
	if got := ParseResources(out); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseResources = %+v, want %+v", got, want)
	}
}
