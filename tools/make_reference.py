#!/usr/bin/env python3
"""Builds the tiny Llama-family reference models and their transformers outputs under
tests/fixtures/models/<name>/, for tests/integration/test_forward_reference.c.

Each model directory holds what `save_pretrained` writes (config.json, generation_config.json,
model.safetensors) plus:
  reference.bin   little-endian, no padding:
                    char[8]  magic "RLAEREF1"
                    int32    version (1), n_prompts, vocab_size, hidden_size, n_gen, n_prompt_tokens
                    int32    prompt_len[n_prompts]
                    int32    prompt_tokens[n_prompt_tokens]          (prompts concatenated)
                    float32  logits[n_prompt_tokens][vocab_size]     (every prompt position)
                    float32  hidden[n_prompt_tokens][hidden_size]    (after the final RMSNorm)
                    int32    greedy[n_prompts][n_gen]                (greedy continuation)
                    float32  greedy_logits[n_prompts][n_gen][vocab_size]
                                 (logits that chose greedy[p][g]: row 0 is the last prompt position)
  reference.json  the same layout with byte offsets and shapes, the prompts, the versions of
                  torch/transformers/safetensors/numpy, the seeds, the command, and the result of an
                  independent float64 numpy re-implementation of the forward checked against
                  transformers (max abs difference).

Every output is computed in fp32 with attn_implementation="eager", one prompt at a time (no
padding), positions 0..len-1. The greedy continuation re-runs the full sequence at every step (no
KV cache) and takes the argmax; the script checks that the top-1/top-2 logit gap at every greedy
step is well above the test tolerance so that the tokens are a fair exact-match target.
The *_bf16 directory holds the same model as its fp32 twin stored in bfloat16; its reference is
computed from the bf16 weights upcast to fp32.

How to rerun (Debian bookworm; PyTorch from Debian, transformers from PyPI):
    apt-get install -y python3-torch python3-venv
    python3 -m venv --system-site-packages /opt/refenv        # outside the repo
    /opt/refenv/bin/pip install "transformers==4.46.3" "safetensors==0.8.0" "numpy==1.24.2"
    /opt/refenv/bin/python tools/make_reference.py            # writes tests/fixtures/models/
Used to make the committed fixtures: torch 1.13.0a0 (Debian 1.13.1+dfsg-4), transformers 4.46.3,
safetensors 0.8.0, numpy 1.24.2 (reference.json records the versions actually used).
Options: --out DIR (default tests/fixtures/models), --only NAME[,NAME...].
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import transformers
import safetensors
from safetensors.torch import load_file as load_safetensors

MAGIC = b"RLAEREF1"
FORMAT_VERSION = 1
N_GEN = 8
PROMPT_LENS = (5, 11, 17)
# The greedy targets must not be decided by noise: every chosen token leads the runner-up by this.
MIN_GREEDY_MARGIN = 2e-3

# name -> (HF config class name, config kwargs, weight seed, first prompt seed to try)
MODELS = {
    # Llama 2 style: GQA 4:2, untied head, odd MLP and vocab sizes.
    "llama": ("LlamaConfig", dict(
        vocab_size=200, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
        attention_bias=False, mlp_bias=False, bos_token_id=1, eos_token_id=2), 1234, 101),
    # Llama 3.1 style rope scaling. head_dim 16, theta 5e5: the 8 frequencies have wavelengths
    # 6.3, 32.4, 167, ... tokens; with original_max_position_embeddings 64 (high-frequency
    # wavelength 64/4 = 16, low-frequency wavelength 64/1 = 64) the first is kept, the second is
    # in the smoothly interpolated band and the rest are divided by 8: all three branches count.
    "llama3": ("LlamaConfig", dict(
        vocab_size=160, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        attention_bias=False, mlp_bias=False, bos_token_id=1, eos_token_id=2), 2345, 202),
    # Qwen2: q/k/v biases, tied embeddings, GQA 6:2 with head_dim 8, eps 1e-6, theta 1e6.
    "qwen2": ("Qwen2Config", dict(
        vocab_size=160, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
        num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
        use_sliding_window=False, bos_token_id=1, eos_token_id=2), 3456, 303),
    # Mistral: untied, multi-query (4:1), 3 layers, no sliding window (as Mistral 7B v0.2+).
    "mistral": ("MistralConfig", dict(
        vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=128,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
        sliding_window=None, bos_token_id=1, eos_token_id=2), 4567, 404),
}
# name -> fp32 model whose weights it stores in bfloat16
BF16_TWINS = {"llama_bf16": "llama"}

WEIGHT_STD = 0.15   # projections and embeddings
BIAS_STD = 0.2      # q/k/v biases (Qwen2)
NORM_STD = 0.25     # RMSNorm weights are 1 + NORM_STD * N(0, 1)


def init_weights(model, seed):
    """Re-initialises every parameter from one seeded generator, in named_parameters order (tied
    parameters appear once), so the weights do not depend on transformers' own init scheme."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + NORM_STD * noise)
            elif name.endswith(".bias"):
                p.copy_(BIAS_STD * noise)
            else:
                p.copy_(WEIGHT_STD * noise)


def make_prompts(vocab, seed):
    rng = np.random.default_rng(seed)
    # ids from the whole vocabulary except 0..2 (pad/bos/eos by convention), first token bos
    return [[1] + [int(t) for t in rng.integers(3, vocab, size=n - 1)] for n in PROMPT_LENS]


@torch.no_grad()
def hf_outputs(model, prompts):
    """Per prompt: logits [len, vocab], final hidden [len, dim], greedy tokens and their logits."""
    out = []
    for ids in prompts:
        x = torch.tensor([ids], dtype=torch.long)
        r = model(input_ids=x, output_hidden_states=True, use_cache=False)
        logits = r.logits[0].float()
        hidden = r.hidden_states[-1][0].float()
        # The last hidden_states entry is after the final norm: the head applied to it gives
        # the logits, and it equals the base model's last_hidden_state.
        base = model.model(input_ids=x, use_cache=False).last_hidden_state[0]
        assert torch.equal(base, hidden), "hidden_states[-1] is not the post-norm state"
        assert torch.allclose(model.lm_head(hidden), logits, atol=1e-5, rtol=0)
        seq = list(ids)
        greedy, glogits, margins = [], [], []
        for _ in range(N_GEN):
            lg = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0, -1].float()
            top2 = torch.topk(lg, 2).values
            margins.append(float(top2[0] - top2[1]))
            tok = int(torch.argmax(lg))
            greedy.append(tok)
            glogits.append(lg.numpy().copy())
            seq.append(tok)
        out.append(dict(logits=logits.numpy(), hidden=hidden.numpy(), greedy=greedy,
                        greedy_logits=np.stack(glogits), margins=margins))
    return out


# ---- an independent float64 numpy forward (Meta's formulas, not transformers' code) ----------

def np_inv_freq(cfg):
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        out = []
        for f in inv:
            wl = 2 * math.pi / f
            if wl < old / hi:
                out.append(f)
            elif wl > old / lo:
                out.append(f / factor)
            else:
                s = (old / wl - lo) / (hi - lo)
                out.append((1 - s) * f / factor + s * f)
        inv = np.array(out)
    elif rs:
        raise ValueError("numpy check: unsupported rope_scaling %r" % rs)
    return inv


def np_forward(model_dir, ids, ignore_rope_scaling=False):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    if ignore_rope_scaling:
        cfg["rope_scaling"] = None
    w = {k: v.double().numpy() for k, v in
         load_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg["hidden_size"]
    hd = D // H
    eps = cfg["rms_norm_eps"]
    T = len(ids)

    def rms(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g

    ang = np.arange(T)[:, None] * np_inv_freq(cfg)[None, :]          # [T, hd/2]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):                                                        # [T, n, hd], half-split
        a, b = x[..., : hd // 2], x[..., hd // 2:]
        c, s = cos[:, None, :], sin[:, None, :]
        return np.concatenate([a * c - b * s, b * c + a * s], axis=-1)

    x = w["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms(x, w[p + "input_layernorm.weight"])

        def proj(name):
            y = h @ w[p + "self_attn.%s_proj.weight" % name].T
            b = w.get(p + "self_attn.%s_proj.bias" % name)
            return y if b is None else y + b
        q = rope(proj("q").reshape(T, H, hd))
        k = rope(proj("k").reshape(T, KV, hd))
        v = proj("v").reshape(T, KV, hd)
        att = np.zeros((T, H, hd))
        for hh in range(H):
            kv = hh // (H // KV)
            sc = q[:, hh] @ k[:, kv].T / math.sqrt(hd) + mask
            sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
            att[:, hh] = (sc / sc.sum(axis=-1, keepdims=True)) @ v[:, kv]
        x = x + att.reshape(T, H * hd) @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ w[p + "mlp.down_proj.weight"].T
    hid = rms(x, w["model.norm.weight"])
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return hid @ head.T, hid


# ---- writing ------------------------------------------------------------------------------------

def write_reference(model_dir, name, cfg, prompts, outs, extra):
    V, D = cfg.vocab_size, cfg.hidden_size
    lens = [len(p) for p in prompts]
    ntok = sum(lens)
    arrays = [
        ("prompt_len", "int32", [len(prompts)], np.array(lens, dtype="<i4")),
        ("prompt_tokens", "int32", [ntok], np.array(sum(prompts, []), dtype="<i4")),
        ("logits", "float32", [ntok, V], np.concatenate([o["logits"] for o in outs]).astype("<f4")),
        ("hidden", "float32", [ntok, D], np.concatenate([o["hidden"] for o in outs]).astype("<f4")),
        ("greedy", "int32", [len(prompts), N_GEN],
         np.array([o["greedy"] for o in outs], dtype="<i4")),
        ("greedy_logits", "float32", [len(prompts), N_GEN, V],
         np.stack([o["greedy_logits"] for o in outs]).astype("<f4")),
    ]
    header = MAGIC + struct.pack("<6i", FORMAT_VERSION, len(prompts), V, D, N_GEN, ntok)
    layout, blob, off = {}, [header], len(header)
    for aname, dtype, shape, arr in arrays:
        assert list(arr.shape) == shape, (aname, arr.shape, shape)
        layout[aname] = dict(dtype=dtype, shape=shape, offset=off, nbytes=arr.nbytes)
        blob.append(arr.tobytes())
        off += arr.nbytes
    with open(os.path.join(model_dir, "reference.bin"), "wb") as f:
        f.write(b"".join(blob))
    desc = dict(
        name=name, format="RLAEREF1", format_version=FORMAT_VERSION,
        header="char[8] magic, int32 version, n_prompts, vocab_size, hidden_size, n_gen, "
               "n_prompt_tokens; then the arrays below, little-endian, in this order",
        arch=cfg.model_type, vocab_size=V, hidden_size=D, n_gen=N_GEN,
        prompts=prompts, prompt_lens=lens, arrays=layout, **extra)
    with open(os.path.join(model_dir, "reference.json"), "w") as f:
        json.dump(desc, f, indent=1)
        f.write("\n")


def build(name, out_root, versions, command):
    if name in BF16_TWINS:
        base = BF16_TWINS[name]
        cls_name, kwargs, wseed, pseed = MODELS[base]
    else:
        base = None
        cls_name, kwargs, wseed, pseed = MODELS[name]
    cfg = getattr(transformers, cls_name)(**kwargs)
    cfg._attn_implementation = "eager"
    torch.manual_seed(wseed)
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    init_weights(model, wseed)
    model.eval()
    model_dir = os.path.join(out_root, name)
    if os.path.isdir(model_dir):
        shutil.rmtree(model_dir)
    if base:
        # Store bf16, then reload and upcast: the reference sees exactly the stored weights.
        model.to(torch.bfloat16).save_pretrained(model_dir, safe_serialization=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            model_dir, torch_dtype=torch.float32, attn_implementation="eager")
        model.eval()
    else:
        model.to(torch.float32).save_pretrained(model_dir, safe_serialization=True)
    assert model.dtype == torch.float32
    assert model.config._attn_implementation == "eager"

    # The first prompt seed from pseed on whose greedy steps all have a clear winner.
    for pseed in range(pseed, pseed + 50):
        prompts = make_prompts(cfg.vocab_size, pseed)
        outs = hf_outputs(model, prompts)
        margin = min(min(o["margins"]) for o in outs)
        if margin >= MIN_GREEDY_MARGIN:
            break
    else:
        sys.exit("%s: no prompt seed gives a greedy top-1/top-2 gap >= %.0e"
                 % (name, MIN_GREEDY_MARGIN))

    # Independent float64 check of the reference itself (weights as stored, i.e. bf16 for _bf16).
    np_err_logits = np_err_hidden = 0.0
    for ids, o in zip(prompts, outs):
        lg, hid = np_forward(model_dir, ids)
        np_err_logits = max(np_err_logits, float(np.abs(lg - o["logits"]).max()))
        np_err_hidden = max(np_err_hidden, float(np.abs(hid - o["hidden"]).max()))
    if max(np_err_logits, np_err_hidden) > 2e-5:
        sys.exit("%s: transformers and the numpy forward differ by %.2e / %.2e"
                 % (name, np_err_logits, np_err_hidden))

    # How much the fixture depends on the rope scaling: logits with it ignored, vs the reference.
    scaling_effect = None
    if getattr(cfg, "rope_scaling", None):
        scaling_effect = max(float(np.abs(np_forward(model_dir, ids, True)[0] - o["logits"]).max())
                             for ids, o in zip(prompts, outs))
        assert scaling_effect > 0.05, scaling_effect
        inv = np_inv_freq(json.load(open(os.path.join(model_dir, "config.json"))))
        scaling_effect = dict(max_abs_logit_change_if_ignored=scaling_effect,
                              inv_freq=[float(f) for f in inv])
    probs = [torch.softmax(torch.from_numpy(o["logits"]), -1).max(-1).values for o in outs]
    extra = dict(
        config_class=cls_name, config_kwargs=kwargs,
        stored_dtype="bfloat16" if base else "float32", bf16_twin_of=base,
        weight_seed=wseed, prompt_seed=pseed,
        init=dict(weight_std=WEIGHT_STD, bias_std=BIAS_STD, norm="1 + %g * N(0,1)" % NORM_STD),
        attn_implementation="eager", compute_dtype="float32",
        min_greedy_margin=margin, rope_scaling_check=scaling_effect,
        logit_abs_max=float(max(np.abs(o["logits"]).max() for o in outs)),
        hidden_abs_max=float(max(np.abs(o["hidden"]).max() for o in outs)),
        mean_top1_prob=float(torch.cat(probs).mean()),
        numpy_float64_check=dict(max_abs_logits=np_err_logits, max_abs_hidden=np_err_hidden),
        versions=versions, command=command)
    write_reference(model_dir, name, cfg, prompts, outs, extra)
    size = sum(os.path.getsize(os.path.join(model_dir, f)) for f in os.listdir(model_dir))
    print("%-11s %-8s params %7d  greedy margin %.3g  top1 p %.2f  numpy check %.1e/%.1e  %d bytes"
          % (name, cfg.model_type, sum(p.numel() for p in model.parameters()), margin,
             extra["mean_top1_prob"], np_err_logits, np_err_hidden, size))


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(repo, "tests", "fixtures", "models"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)  # deterministic reductions
    torch.use_deterministic_algorithms(True)
    versions = dict(python=sys.version.split()[0], torch=torch.__version__,
                    transformers=transformers.__version__, safetensors=safetensors.__version__,
                    numpy=np.__version__)
    names = list(MODELS) + list(BF16_TWINS)
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    os.makedirs(args.out, exist_ok=True)
    command = "python3 tools/make_reference.py" + (" --only " + args.only if args.only else "")
    for n in names:
        build(n, args.out, versions, command)


if __name__ == "__main__":
    main()
