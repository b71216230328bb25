#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (small valid inputs the fuzzers mutate).
Standard library only; rerun after changing it:  python3 tests/fuzz/make_corpus.py"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1, "BOOL": 1, "F64": 8}


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape). Data bytes are a simple ramp."""
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = 1
        for s in shape:
            n *= s
        nbytes = n * SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + nbytes]}
        blob += bytes((i * 37 + 11) & 0x7F for i in range(nbytes))
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


out("fuzz_safetensors", "f32_f16_bf16.safetensors",
    safetensors([("a", "F32", [2, 3]), ("b", "F16", [4]), ("c", "BF16", [2, 2])], {"format": "pt"}))
out("fuzz_safetensors", "layer.safetensors",
    safetensors([("model.layers.0.self_attn.q_proj.weight", "BF16", [8, 8]),
                 ("model.layers.0.self_attn.q_proj.bias", "BF16", [8]),
                 ("model.norm.weight", "F32", [8])], pad=False))
out("fuzz_safetensors", "mixed.safetensors",
    safetensors([("ids", "I64", [3]), ("mask", "BOOL", [4]), ("empty", "F32", [0, 4]), ("scalar", "F64", []),
                 ("bytes", "U8", [5]), ("w", "F16", [1, 1, 2, 3])]))
out("fuzz_safetensors", "empty.safetensors", safetensors([], {}))


def llama2c(dim, hidden, layers, heads, kv_heads, vocab, seq, tied=True):
    hs = dim // heads
    kv = kv_heads * hs
    floats = (vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kv * dim + 3 * hidden * dim) + dim +
              seq * hs + (0 if tied else vocab * dim))
    hdr = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if tied else -vocab, seq)
    return hdr + struct.pack("<%df" % floats, *[((i * 7) % 13 - 6) / 8.0 for i in range(floats)])


out("fuzz_llama2c", "tied.bin", llama2c(8, 16, 1, 2, 1, 10, 4))
out("fuzz_llama2c", "untied.bin", llama2c(8, 12, 2, 2, 2, 6, 2, tied=False))
out("fuzz_llama2c", "v1_magic.bin", struct.pack("<2I", 0x616B3432, 1) + bytes(40))

base = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 160, "max_position_embeddings": 256,
        "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": False, "attention_bias": False,
        "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": [2, 3],
        "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 64, "rope_type": "llama3"}}
out("fuzz_hf_config", "llama3.json", json.dumps(base, indent=2))
out("fuzz_hf_config", "qwen2.json", json.dumps(dict(base, model_type="qwen2", rope_scaling=None,
                                                    tie_word_embeddings=True, sliding_window=32768)))
out("fuzz_hf_config", "mistral.json", json.dumps(dict(base, model_type="mistral", head_dim=32,
                                                      rope_scaling={"type": "linear", "factor": 2.0})))
