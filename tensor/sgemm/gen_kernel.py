"""Generates kernel_amd64.s: AVX2+FMA SGEMM micro-kernels for package sgemm.

Usage: python3 gen_kernel.py > kernel_amd64.s

Each kernel keeps a rows x (8*vecs) tile of C in ymm accumulators. Per step
of k it loads one row of the packed B panel (vecs vectors), broadcasts one
value of A per row and issues rows*vecs FMAs.
"""
import sys
# AVX2+FMA micro-kernel with a strided A operand: element (r, p) of the
# A panel is at a + 4*(r*rs + p*cs); B is packed (k groups of 8*vecs).
def gen(rows, vecs, unroll=4, name=None):
    nr = vecs*8
    name = name or f"kernelAVX2x{rows}x{nr}"
    acc = lambda r, v: f"Y{r*vecs+v}"
    nacc = rows*vecs
    breg = [f"Y{nacc+v}" for v in range(vecs)]
    bc = [f"Y{i}" for i in range(nacc+vecs, 16)]
    L = []
    w = L.append

    def cmem(r, off):
        base = ["DX", "R11", "R12"][r//3]
        o = r % 3
        idx = "" if o == 0 else f"(R8*{o})"
        return f"{off}({base}){idx}" if off else f"({base}){idx}"
    w(f"// func {name}(k int, a *float32, rs, cs int, b, c *float32, ldc int, alpha, beta float32)")
    w(f"TEXT ·{name}(SB), NOSPLIT, $0-64")
    w("\tMOVQ k+0(FP), CX")
    w("\tMOVQ a+8(FP), SI")
    w("\tMOVQ rs+16(FP), BX")
    w("\tSHLQ $2, BX")
    w("\tMOVQ cs+24(FP), R13")
    w("\tSHLQ $2, R13")
    w("\tMOVQ b+32(FP), DI")
    w("\tMOVQ c+40(FP), DX")
    w("\tMOVQ ldc+48(FP), R8")
    w("\tSHLQ $2, R8")
    w("\tLEAQ (SI)(BX*2), R10")
    w("\tADDQ BX, R10")
    # C row pointers: rows 0-2 from DX, 3-5 from R11, 6-8 from R12.
    w("\tLEAQ (DX)(R8*2), R11")
    w("\tADDQ R8, R11")
    if rows > 6:
        w("\tLEAQ (R11)(R8*2), R12")
        w("\tADDQ R8, R12")
    # Start fetching the C tile now so its latency hides behind the k loop.
    for r in range(rows):
        for off in sorted(set([0] + list(range(64, nr*4, 64)) + [nr*4-4])):
            a = cmem(r, off)
            w(f"\tPREFETCHT0 {a}")
    for i in range(nacc):
        w(f"\tVXORPS Y{i}, Y{i}, Y{i}")
    def aaddr(r):
        base = ["SI", "R10"][r//3]
        o = r % 3
        return f"({base})" if o == 0 else f"({base})(BX*{o})"
    def step(u):
        bo = u*nr*4
        for v in range(vecs):
            w(f"\tVMOVUPS {bo+32*v}(DI), {breg[v]}")
        for r in range(rows):
            br = bc[r % len(bc)]
            w(f"\tVBROADCASTSS {aaddr(r)}, {br}")
            for v in range(vecs):
                w(f"\tVFMADD231PS {breg[v]}, {br}, {acc(r,v)}")
        w("\tADDQ R13, SI")
        if rows > 3:
            w("\tADDQ R13, R10")
    w("\tMOVQ CX, R9")
    w(f"\tSHRQ ${unroll.bit_length()-1}, R9")
    w("\tJEQ tail")
    w("loop:")
    for u in range(unroll):
        step(u)
    w(f"\tADDQ ${nr*4*unroll}, DI")
    w("\tDECQ R9")
    w("\tJNE loop")
    w("tail:")
    w(f"\tANDQ ${unroll-1}, CX")
    w("\tJEQ store")
    w("tailloop:")
    step(0)
    w(f"\tADDQ ${nr*4}, DI")
    w("\tDECQ CX")
    w("\tJNE tailloop")
    w("store:")
    al = bc[0]
    w(f"\tVBROADCASTSS alpha+56(FP), {al}")
    for i in range(nacc):
        w(f"\tVMULPS {al}, Y{i}, Y{i}")
    def rowaddr(r):
        base = ["DX", "R11", "R12"][r//3]
        o = r % 3
        return base if o == 0 else f"({base})(R8*{o})"
    def mem(r, v):
        ra = rowaddr(r)
        if ra.startswith("("):
            return f"{32*v}{ra}" if v else ra
        return f"{32*v}({ra})" if v else f"({ra})"
    w("\tVMOVSS beta+60(FP), X15")
    w("\tVXORPS X14, X14, X14")
    w("\tVUCOMISS X14, X15")
    w("\tJNE betanz")
    w("\tJPS betanz")
    for r in range(rows):
        for v in range(vecs):
            w(f"\tVMOVUPS {acc(r,v)}, {mem(r,v)}")
    w("\tVZEROUPPER")
    w("\tRET")
    w("betanz:")
    w("\tVBROADCASTSS beta+60(FP), Y15")
    for r in range(rows):
        for v in range(vecs):
            w(f"\tVFMADD231PS {mem(r,v)}, Y15, {acc(r,v)}")
            w(f"\tVMOVUPS {acc(r,v)}, {mem(r,v)}")
    w("\tVZEROUPPER")
    w("\tRET")
    return "\n".join(L) + "\n"

def transpose8(w):
    """Transposes the 8x8 block in Y0..Y7 (row i in Yi) into Y8..Y15
    (column i in Y(8+i)), using Y0..Y15 as scratch."""
    for i in range(4):
        a, b = 2*i, 2*i+1
        w(f"\tVUNPCKLPS Y{b}, Y{a}, Y{8+2*i}")
        w(f"\tVUNPCKHPS Y{b}, Y{a}, Y{9+2*i}")
    # t0=Y8 t1=Y9 (rows 0,1); t2=Y10 t3=Y11 (rows 2,3); t4..t7 = Y12..Y15.
    for g, (tl, th, tl2, th2) in enumerate([(8, 9, 10, 11), (12, 13, 14, 15)]):
        base = 4*g  # s0..s3 -> Y0..Y3, s4..s7 -> Y4..Y7
        w(f"\tVSHUFPS $0x44, Y{tl2}, Y{tl}, Y{base}")
        w(f"\tVSHUFPS $0xEE, Y{tl2}, Y{tl}, Y{base+1}")
        w(f"\tVSHUFPS $0x44, Y{th2}, Y{th}, Y{base+2}")
        w(f"\tVSHUFPS $0xEE, Y{th2}, Y{th}, Y{base+3}")
    for i in range(4):
        w(f"\tVPERM2F128 $0x20, Y{4+i}, Y{i}, Y{8+i}")
        w(f"\tVPERM2F128 $0x31, Y{4+i}, Y{i}, Y{12+i}")


def gen_pack():
    L = []
    w = L.append
    # packB16N: dst[q*16+j] = src[q*ld+j], j < 16.
    w("// func packB16N(k int, src *float32, ld int, dst *float32)")
    w("TEXT ·packB16N(SB), NOSPLIT, $0-32")
    w("\tMOVQ k+0(FP), CX")
    w("\tMOVQ src+8(FP), SI")
    w("\tMOVQ ld+16(FP), BX")
    w("\tSHLQ $2, BX")
    w("\tMOVQ dst+24(FP), DI")
    w("\tTESTQ CX, CX")
    w("\tJEQ done")
    w("loop:")
    w("\tVMOVUPS (SI), Y0")
    w("\tVMOVUPS 32(SI), Y1")
    w("\tVMOVUPS Y0, (DI)")
    w("\tVMOVUPS Y1, 32(DI)")
    w("\tADDQ BX, SI")
    w("\tADDQ $64, DI")
    w("\tDECQ CX")
    w("\tJNE loop")
    w("done:")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")
    # packB16T: dst[q*16+j] = src[j*ld+q], j < 16, k a multiple of 8.
    w("// func packB16T(k int, src *float32, ld int, dst *float32)")
    w("TEXT ·packB16T(SB), NOSPLIT, $0-32")
    w("\tMOVQ k+0(FP), CX")
    w("\tSHRQ $3, CX")
    w("\tMOVQ src+8(FP), SI")
    w("\tMOVQ ld+16(FP), BX")
    w("\tSHLQ $2, BX")
    w("\tMOVQ dst+24(FP), DI")
    bases = ["SI", "R8", "R9", "R10", "R11", "R12"]
    for i, r in enumerate(bases[1:], 1):
        w(f"\tLEAQ (SI)(BX*2), {r}" if i == 1 else f"\tLEAQ ({bases[i-1]})(BX*2), {r}")
        w(f"\tADDQ BX, {r}")

    def row(j):
        b = bases[j//3]
        o = j % 3
        return f"({b})" if o == 0 else f"({b})(BX*{o})"
    w("\tTESTQ CX, CX")
    w("\tJEQ done")
    w("loop:")
    for h in range(2):
        for i in range(8):
            w(f"\tVMOVUPS {row(8*h+i)}, Y{i}")
        transpose8(w)
        for i in range(8):
            w(f"\tVMOVUPS Y{8+i}, {i*64+h*32}(DI)")
    for r in bases:
        w(f"\tADDQ $32, {r}")
    w("\tADDQ $512, DI")
    w("\tDECQ CX")
    w("\tJNE loop")
    w("done:")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")
    # packA6T: dst[q*6+r] = src[q*ld+r], r < 6 (A stored k x m).
    w("// func packA6T(k int, src *float32, ld int, dst *float32)")
    w("TEXT ·packA6T(SB), NOSPLIT, $0-32")
    w("\tMOVQ k+0(FP), CX")
    w("\tMOVQ src+8(FP), SI")
    w("\tMOVQ ld+16(FP), BX")
    w("\tSHLQ $2, BX")
    w("\tMOVQ dst+24(FP), DI")
    w("\tTESTQ CX, CX")
    w("\tJEQ done")
    w("loop:")
    w("\tVMOVUPS (SI), X0")
    w("\tVMOVQ 16(SI), X1")
    w("\tVMOVUPS X0, (DI)")
    w("\tVMOVQ X1, 16(DI)")
    w("\tADDQ BX, SI")
    w("\tADDQ $24, DI")
    w("\tDECQ CX")
    w("\tJNE loop")
    w("done:")
    w("\tRET")
    w("")
    # packA6N: dst[q*6+r] = src[r*ld+q], r < 6, k a multiple of 8.
    w("// func packA6N(k int, src *float32, ld int, dst *float32)")
    w("TEXT ·packA6N(SB), NOSPLIT, $0-32")
    w("\tMOVQ k+0(FP), CX")
    w("\tSHRQ $3, CX")
    w("\tMOVQ src+8(FP), SI")
    w("\tMOVQ ld+16(FP), BX")
    w("\tSHLQ $2, BX")
    w("\tMOVQ dst+24(FP), DI")
    w("\tLEAQ (SI)(BX*2), R8")
    w("\tADDQ BX, R8")
    w("\tTESTQ CX, CX")
    w("\tJEQ done")
    w("loop:")
    for i in range(6):
        b = ["SI", "R8"][i//3]
        o = i % 3
        w(f"\tVMOVUPS {'('+b+')' if o == 0 else '('+b+')(BX*'+str(o)+')'}, Y{i}")
    w("\tVXORPS Y6, Y6, Y6")
    w("\tVXORPS Y7, Y7, Y7")
    transpose8(w)
    for i in range(8):
        w(f"\tVMOVUPS X{8+i}, {i*24}(DI)")
        w(f"\tVEXTRACTF128 $1, Y{8+i}, X0")
        w(f"\tVMOVQ X0, {i*24+16}(DI)")
    w("\tADDQ $32, SI")
    w("\tADDQ $32, R8")
    w("\tADDQ $192, DI")
    w("\tDECQ CX")
    w("\tJNE loop")
    w("done:")
    w("\tVZEROUPPER")
    w("\tRET")
    return "\n".join(L) + "\n"


# Constants of the vector epilogue, each replicated 8 times (32 bytes).
# Cephes-style expf: exp(x) = 2^n * e^r, n = floor(x*log2e + 1/2),
# r = x - n*ln2 (in two parts), e^r = 1 + r + r^2*P(r).
EPI_CONSTS = [
    ("lo", -87.33654),  # keeps 2^n normal
    ("hi", 88.3762626647949),
    ("log2e", 1.44269504088896341),
    ("half", 0.5),
    ("c1", 0.693359375),
    ("c2", -2.12194440e-4),
    ("p0", 1.9875691500e-4),
    ("p1", 1.3981999507e-3),
    ("p2", 8.3334519073e-3),
    ("p3", 4.1665795894e-2),
    ("p4", 1.6666665459e-1),
    ("p5", 5.0000001201e-1),
    ("one", 1.0),
    ("i127", None),  # int32 127
    ("m05", -0.5),   # below this ELU uses exp(x)-1, above the series
    ("t10", 1/3628800), ("t9", 1/362880), ("t8", 1/40320), ("t7", 1/5040),
    ("t6", 1/720), ("t5", 1/120), ("t4", 1/24), ("t3", 1/6), ("t2", 0.5),
    ("t1", 1.0),
    ("zero", 0.0),
]


def gen_epilogue():
    import struct
    L = []
    w = L.append
    off = {}
    for i, (name, v) in enumerate(EPI_CONSTS):
        off[name] = 32*i
        bits = 127 if v is None else struct.unpack("<I", struct.pack("<f", v))[0]
        for j in range(8):
            w(f"DATA epiconst<>+{32*i+4*j}(SB)/4, $0x{bits:08x}")
    w(f"GLOBL epiconst<>(SB), RODATA|NOPTR, ${32*len(EPI_CONSTS)}")
    w("")
    c = lambda name: f"epiconst<>+{off[name]}(SB)"

    def exp(src):
        # Y1 = exp(src); scratch Y2, Y3, Y4.
        w(f"\tVMOVUPS {c('lo')}, Y2")
        w(f"\tVMAXPS {src}, Y2, Y1")  # max(lo, x), NaN x kept
        w(f"\tVMOVUPS {c('hi')}, Y2")
        w("\tVMINPS Y1, Y2, Y1")
        w(f"\tVMOVUPS {c('log2e')}, Y3")
        w("\tVMOVAPS Y1, Y2")
        w(f"\tVFMADD213PS {c('half')}, Y3, Y2")
        w("\tVROUNDPS $1, Y2, Y2")  # floor
        w(f"\tVFNMADD231PS {c('c1')}, Y2, Y1")
        w(f"\tVFNMADD231PS {c('c2')}, Y2, Y1")
        w(f"\tVMOVUPS {c('p0')}, Y3")
        for p in ("p1", "p2", "p3", "p4", "p5"):
            w(f"\tVFMADD213PS {c(p)}, Y1, Y3")
        w("\tVMULPS Y1, Y1, Y4")
        w("\tVFMADD213PS Y1, Y4, Y3")
        w(f"\tVADDPS {c('one')}, Y3, Y3")
        w("\tVCVTTPS2DQ Y2, Y2")
        w(f"\tVPADDD {c('i127')}, Y2, Y2")
        w("\tVPSLLD $23, Y2, Y2")
        w("\tVMULPS Y2, Y3, Y1")

    w("// func epilogueAVX2(x, bias *float32, n, act int)")
    w("TEXT ·epilogueAVX2(SB), NOSPLIT, $0-32")
    w("\tMOVQ x+0(FP), DI")
    w("\tMOVQ bias+8(FP), SI")
    w("\tMOVQ n+16(FP), CX")
    w("\tSHRQ $3, CX")
    w("\tJEQ done")
    w("\tMOVQ $32, R9")
    w("\tTESTQ SI, SI")
    w("\tJNE hasbias")
    w(f"\tLEAQ {c('zero')}, SI")
    w("\tXORQ R9, R9")
    w("hasbias:")
    w("\tMOVQ act+24(FP), AX")
    for i, name in enumerate(["none", "relu", "elu", "silu"]):
        w(f"\tCMPQ AX, ${i}")
        w(f"\tJEQ {name}")
    w("\tJMP done")
    for name in ["none", "relu", "elu", "silu"]:
        w(f"{name}:")
        w("\tVMOVUPS (DI), Y0")
        w("\tVADDPS (SI), Y0, Y0")
        if name == "none":
            w("\tVMOVAPS Y0, Y1")
        elif name == "relu":
            w("\tVXORPS Y7, Y7, Y7")
            w("\tVMAXPS Y0, Y7, Y1")
        elif name == "elu":
            exp("Y0")
            w(f"\tVSUBPS {c('one')}, Y1, Y1")
            w(f"\tVMOVUPS {c('t10')}, Y5")
            for t in ("t9", "t8", "t7", "t6", "t5", "t4", "t3", "t2", "t1"):
                w(f"\tVFMADD213PS {c(t)}, Y0, Y5")
            w("\tVMULPS Y0, Y5, Y5")
            w(f"\tVCMPPS $0x1e, {c('m05')}, Y0, Y6")  # x > -0.5
            w("\tVBLENDVPS Y6, Y5, Y1, Y1")
            w("\tVXORPS Y7, Y7, Y7")
            w("\tVCMPPS $0x1e, Y7, Y0, Y6")  # x > 0
            w("\tVBLENDVPS Y6, Y0, Y1, Y1")
        elif name == "silu":
            w("\tVXORPS Y7, Y7, Y7")
            w("\tVSUBPS Y0, Y7, Y8")
            exp("Y8")
            w(f"\tVADDPS {c('one')}, Y1, Y1")
            w("\tVDIVPS Y1, Y0, Y1")
        w("\tVMOVUPS Y1, (DI)")
        w("\tADDQ $32, DI")
        w("\tADDQ R9, SI")
        w("\tDECQ CX")
        w(f"\tJNE {name}")
        w("\tJMP done")
    w("done:")
    w("\tVZEROUPPER")
    w("\tRET")
    return "\n".join(L) + "\n"


HEADER = """// Code generated by gen_kernel.py; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"
"""

if __name__ == "__main__":
    sys.stdout.write(HEADER + "\n" + gen(6, 2) + "\n" + gen(4, 3) + "\n" + gen_pack() + "\n" + gen_epilogue())
