#!/usr/bin/env python3
"""Writes a llama2.c legacy checkpoint (version 0: 7 x int32 header, fp32 tensors) with random
weights, for benchmarking model shapes we have no real checkpoint of. The default shape is
stories15M's (dim 288, hidden 768, 6 layers, 6 heads, 6 kv heads, vocab 32000, seq 256). Weights are
N(0, 0.02) from Python's Mersenne Twister with a fixed seed (norm weights 1), so the file is the
same on every run; its text is gibberish. A matching tokenizer is written with --tokenizer (pieces
"<0xXX>" for bytes, then "t<id>"), because `rlae generate` needs one.
Standard library only (no numpy), so it runs anywhere; ~15M floats take about half a minute.

  python3 tools/make_random_llama2c.py /tmp/random15M.bin --tokenizer /tmp/tok_random15M.bin
"""
import argparse
import array
import random
import struct
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, default=288)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=6)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tokenizer", help="also write a llama2.c tokenizer.bin with --vocab pieces here")
    a = ap.parse_args()
    if a.dim % a.heads or a.heads % a.kv_heads or (a.dim // a.heads) % 2:
        sys.exit("dim must be a multiple of heads, heads of kv heads, and the head size even")
    rng = random.Random(a.seed)
    hs = a.dim // a.heads
    kv = a.kv_heads * hs
    L, D, H, V, S = a.layers, a.dim, a.hidden, a.vocab, a.seq

    def normal(n):
        g = rng.gauss
        return array.array("f", (g(0.0, 0.02) for _ in range(n)))

    def ones(n):
        return array.array("f", [1.0]) * n

    with open(a.out, "wb") as f:
        f.write(struct.pack("<7i", D, H, L, a.heads, a.kv_heads, V, S))  # positive vocab: tied head
        for part in (normal(V * D), ones(L * D), normal(L * D * D), normal(L * kv * D), normal(L * kv * D),
                     normal(L * D * D), ones(L * D), normal(L * H * D), normal(L * D * H), normal(L * H * D),
                     ones(D), array.array("f", [0.0]) * (S * hs)):  # freq_cis tables: unused by rlae
            part.tofile(f)
    if a.tokenizer:
        with open(a.tokenizer, "wb") as f:
            f.write(struct.pack("<i", 16))
            for i in range(V):
                if i == 0:
                    piece = b"<unk>"
                elif i == 1:
                    piece = b"\n<s>\n"
                elif i == 2:
                    piece = b"\n</s>\n"
                elif i < 259:
                    piece = b"<0x%02X>" % (i - 3)
                else:
                    piece = b" t%d" % i
                f.write(struct.pack("<fi", 0.0, len(piece)))
                f.write(piece)
    print(f"wrote {a.out}: dim {D}, hidden {H}, layers {L}, heads {a.heads}/{a.kv_heads}, vocab {V}, seq {S}")


if __name__ == "__main__":
    main()
