#!/usr/bin/env python3
"""Decode throughput of random-weight Llama-family models in Hugging Face transformers (PyTorch),
the reference that `rlae bench model` is compared to in the README.

For each attention implementation (eager, sdpa) and batch size (default 1 and 32) it builds the
architecture from its config (random weights, torch.manual_seed(seed); nothing is downloaded), then
measures exactly what `rlae bench model` measures: a prefill of --ctx random tokens per sequence,
one warm-up decode step, then --tokens timed decode steps of one random token per sequence with the
KV cache (the next tokens are drawn at random, not sampled: the forward alone), each step
synchronised; the median step time gives ms/step and tokens/s (= batch / median).

With --rlae PATH it also runs `PATH bench model --json` with the same architecture, batch, context,
token count, device and dtype, and prints rlae's tokens/s and the ratio rlae / transformers next to
each row, so one run gives the side-by-side numbers.

The architectures mirror rlae's (keep them in sync): llama3-8b, qwen2.5-7b, mistral-7b (v0.3) as in
rlae_model_config_preset (host/model/weights_random.c), stories110m, stories15m and tiny (stories260K's
shape) as in host/model/random_weights.c; --layers L / --vocab V override the layer count /
vocabulary as `rlae bench model` does. The random values differ (transformers' normal(0, 0.02)
init, rlae's uniform), which changes no timing: every step does the same work whatever the values.

Usage (on the GPU machine, PyTorch >= 2 with CUDA and transformers installed):
    python3 tools/bench_hf.py --arch llama3-8b --batch 1,32 --ctx 128 --tokens 64 \
        --rlae build/rlae --json bench_hf.json
Smoke test on a CPU:
    python3 tools/bench_hf.py --device cpu --dtype fp32 --arch tiny --layers 1 --batch 1 --tokens 4
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

ARCHS = {
    # name: (model_type, dim, hidden, layers, heads, kv_heads, vocab, max_pos, eps, theta, tied)
    "llama3-8b": ("llama", 4096, 14336, 32, 32, 8, 128256, 8192, 1e-5, 500000.0, False),
    "qwen2.5-7b": ("qwen2", 3584, 18944, 28, 28, 4, 152064, 32768, 1e-6, 1000000.0, False),
    "mistral-7b": ("mistral", 4096, 14336, 32, 32, 8, 32768, 32768, 1e-5, 1000000.0, False),
    "stories110m": ("llama", 768, 2048, 12, 12, 12, 32000, 1024, 1e-5, 10000.0, True),
    "stories15m": ("llama", 288, 768, 6, 6, 6, 32000, 256, 1e-5, 10000.0, True),
    "tiny": ("llama", 64, 172, 5, 8, 4, 512, 512, 1e-5, 10000.0, True),
}


def make_config(transformers, arch, layers, vocab):
    mt, dim, hidden, n_layers, heads, kv, n_vocab, max_pos, eps, theta, tied = ARCHS[arch]
    common = dict(hidden_size=dim, intermediate_size=hidden, num_hidden_layers=layers or n_layers,
                  num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab or n_vocab,
                  max_position_embeddings=max_pos, rms_norm_eps=eps, rope_theta=theta,
                  tie_word_embeddings=tied, hidden_act="silu")
    if mt == "qwen2":
        return transformers.Qwen2Config(use_sliding_window=False, **common)  # q/k/v biases are built in
    if mt == "mistral":
        return transformers.MistralConfig(sliding_window=None, **common)
    return transformers.LlamaConfig(attention_bias=False, mlp_bias=False, **common)


def build_model(torch, transformers, cfg, attn, dtype, device, seed):
    torch.manual_seed(seed)
    cfg._attn_implementation = attn
    if device != "cpu" and hasattr(torch.device(device), "__enter__"):
        with torch.device(device):  # PyTorch >= 2: the weights are made on the device directly
            model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=dtype,
                                                                  attn_implementation=attn)
    else:
        model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=dtype, attn_implementation=attn)
        model = model.to(device)
    return model.eval()


def sync(torch, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def new_cache():
    """An empty transformers KV cache object (DynamicCache, what generate() uses)."""
    import transformers
    return transformers.DynamicCache() if hasattr(transformers, "DynamicCache") else None


def bench_one(torch, model, batch, ctx, tokens, device, vocab, seed):
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, ctx), generator=g).to(device)
    steps = [torch.randint(0, vocab, (batch, 1), generator=g).to(device) for _ in range(tokens + 1)]
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        out = model(ids[:, :1], past_key_values=new_cache(), use_cache=True)  # warm-up, discarded
        sync(torch, device)
        t0 = time.perf_counter()
        out = model(ids, past_key_values=new_cache(), use_cache=True)
        sync(torch, device)
        prefill = time.perf_counter() - t0
        pkv = out.past_key_values
        times = []
        for i, tok in enumerate(steps):  # step 0 is the warm-up step
            t0 = time.perf_counter()
            out = model(tok, past_key_values=pkv, use_cache=True)
            sync(torch, device)
            dt = time.perf_counter() - t0
            pkv = out.past_key_values
            if i > 0:
                times.append(dt)
    med = statistics.median(times)
    row = {"batch": batch, "ctx": ctx, "tokens": tokens, "prefill_ms": prefill * 1e3,
           "ms_per_step": med * 1e3, "ms_per_step_mean": statistics.fmean(times) * 1e3,
           "tokens_per_s": batch / med}
    if device.startswith("cuda"):
        row["peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    return row


def run_rlae(binary, args, batch):
    cmd = [binary, "bench", "model", "--arch", args.arch, "--batch", str(batch), "--ctx", str(args.ctx),
           "--tokens", str(args.tokens), "--device", args.device.split(":")[0], "--dtype", args.dtype,
           "--seed", str(args.seed), "--json"]
    if args.layers:
        cmd += ["--layers", str(args.layers)]
    if args.vocab:
        cmd += ["--vocab", str(args.vocab)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"bench_hf: {' '.join(cmd)} failed (exit {res.returncode}):\n{res.stderr.strip()}")
    return json.loads(res.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="llama3-8b", choices=sorted(ARCHS))
    p.add_argument("--layers", type=int, default=0, help="override the layer count")
    p.add_argument("--vocab", type=int, default=0, help="override the vocabulary size")
    p.add_argument("--batch", default="1,32", help="comma-separated batch sizes (default 1,32)")
    p.add_argument("--ctx", type=int, default=128, help="prefill tokens per sequence (default 128)")
    p.add_argument("--tokens", type=int, default=64, help="timed decode steps (default 64)")
    p.add_argument("--attn", default="eager,sdpa", help="attention implementations (default eager,sdpa)")
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rlae", metavar="BIN", help="also run BIN bench model --json and print the ratio")
    p.add_argument("--json", metavar="PATH", help="write every row as JSON to PATH ('-': stdout)")
    args = p.parse_args()
    batches = [int(b) for b in args.batch.split(",") if b]
    if not batches or min(batches) < 1 or args.ctx < 1 or args.tokens < 1:
        p.error("--batch, --ctx and --tokens must be positive")

    import torch
    import transformers

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("bench_hf: --device cuda but PyTorch sees no GPU (use --device cpu for a smoke test)")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    cfg_probe = make_config(transformers, args.arch, args.layers, args.vocab)
    vocab = cfg_probe.vocab_size
    device_name = torch.cuda.get_device_name(torch.device(args.device)) if args.device.startswith("cuda") else "cpu"
    rows = []
    rlae_rows = {b: run_rlae(args.rlae, args, b) for b in batches} if args.rlae else {}
    for attn in [a for a in args.attn.split(",") if a]:
        cfg = make_config(transformers, args.arch, args.layers, args.vocab)
        try:
            model = build_model(torch, transformers, cfg, attn, dtype, args.device, args.seed)
        except (ImportError, ValueError) as e:
            print(f"bench_hf: attn_implementation={attn} is not available here, skipped: {e}", file=sys.stderr)
            continue
        for b in batches:
            row = {"arch": args.arch, "layers": cfg.num_hidden_layers, "vocab": vocab, "attn": attn,
                   "dtype": args.dtype, "device": device_name}
            row.update(bench_one(torch, model, b, args.ctx, args.tokens, args.device, vocab, args.seed))
            if b in rlae_rows:
                row["rlae_tokens_per_s"] = rlae_rows[b]["tokens_per_s"]
                row["rlae_ms_per_step"] = rlae_rows[b]["ms_per_step"]
                row["ratio_rlae_over_hf"] = rlae_rows[b]["tokens_per_s"] / row["tokens_per_s"]
            rows.append(row)
        del model
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()

    if not rows:
        sys.exit("bench_hf: no attention implementation could be run")
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {device_name}, {args.arch} "
          f"({rows[0]['layers']} layers, vocab {vocab}), {args.dtype}, ctx {args.ctx}, {args.tokens} timed steps "
          f"after 1 warm-up (median)")
    head = f"{'attn':>6} {'batch':>6} {'prefill ms':>11} {'ms/step':>9} {'tokens/s':>10}"
    if rlae_rows:
        head += f" {'rlae tok/s':>11} {'rlae/hf':>8}"
    print(head)
    for r in rows:
        line = f"{r['attn']:>6} {r['batch']:>6} {r['prefill_ms']:>11.2f} {r['ms_per_step']:>9.3f} " \
               f"{r['tokens_per_s']:>10.1f}"
        if "rlae_tokens_per_s" in r:
            line += f" {r['rlae_tokens_per_s']:>11.1f} {r['ratio_rlae_over_hf']:>8.2f}"
        print(line)
    if args.json:
        doc = {"transformers": transformers.__version__, "torch": torch.__version__, "rows": rows,
               "rlae": rlae_rows}
        if args.json == "-":
            json.dump(doc, sys.stdout, indent=2)
            print()
        else:
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
