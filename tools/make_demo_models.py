#!/usr/bin/env python3
"""Trains the demo's two tiny specialist members under experiments/demo/models/{chars,bpe}.

Needs Python 3 with torch, transformers and tokenizers (the reference environment: torch 1.13,
transformers 4.46.3, tokenizers 0.20.3). `tools/install-deps.sh --python` installs Debian's
python3-torch; then, as for tools/make_reference.py (outside the repo):
    python3 -m venv --system-site-packages /opt/refenv
    /opt/refenv/bin/pip install "transformers==4.46.3" "tokenizers==0.20.3"
    /opt/refenv/bin/python tools/make_demo_models.py --rlae build-demo/rlae

Both members are LlamaForCausalLM checkpoints written with save_pretrained (fp32 safetensors:
config.json, model.safetensors, generation_config.json) plus tokenizer.json and
tokenizer_config.json, with different tokenizers:
  chars  a character-level BPE tokenizer.json with no merges and no pre-tokenizer: one token per
         printable ASCII character and newline, plus <unk>, <s> (BOS, added) and </s> (EOS).
  bpe    a byte-level BPE (GPT-2 style, digits split one by one) trained with `tokenizers` on the
         synthetic prompts and answers; EOS <|endoftext|>, no BOS.

Data. The synthetic task's items are a pure function of (config, split, index) (envs/synthetic.c);
`SyntheticTask` below is an exact port of env_synthetic_generate (same splitmix/FNV hashing, same
draws), so the training items come from the task's own train split and never from its test split.
Each training text is exactly what rlae presents when it evaluates an item, followed by the answer
a model should write:
    prompt   = "Question: <question>\nAnswer:"        (syn_format with no shots: rlae eval and
                                                       rlae train give the synthetic task no shots)
    response = " The answer is <gold>.\n" + EOS        (the task's gold_response; configs/demo.yaml
                                                       stops answers at "\n")
The prompt and the response are tokenized separately (as at generation time: the prompt is encoded
alone, the answer is generated token by token), and only response tokens carry loss.

Specialisation: `chars` trains only on reversal and `bpe` only on copy (MIX below), the two skills
a model this small learns in minutes (addition and counting of 2..6-symbol operands need far more
training than a demo can spend). Each alone is therefore right on its own skill and confidently
wrong on the other (a reverser asked to copy still reverses), which is exactly the situation where
fixed weights cannot help and weights chosen from the context can.

Checks (always): the port against known items of the C generator; with --rlae PATH also that
`rlae tokenize` gives the ids HF tokenizers give on task texts, and that `rlae generate --model`
writes HF's greedy answer on a few prompts.

Deterministic: fixed seeds, torch.use_deterministic_algorithms, 2 threads; the weights depend on
the torch build and CPU, the accuracies reported in MODEL_CARD.md were measured with rlae.
Options: --out DIR (default experiments/demo/models), --only chars|bpe, --steps N, --rlae PATH,
--check-only (load the saved members and run the checks).
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

import torch
import transformers
import tokenizers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, trainers

M64 = (1 << 64) - 1

# ---------------------------------------------------------------------------------------------
# The synthetic task, ported from envs/synthetic.c and envs/env.c (keep in step with them).

SKILLS = ["add", "reverse", "count", "copy"]  # env order; config names addition/reversal/counting/copy


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def hash_str(seed, s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return mix64(h ^ mix64(seed))


def unit(h):
    return (h >> 11) * (1.0 / 9007199254740992.0)


class Draws:
    def __init__(self, key):
        self.key, self.j = key, 0

    def next(self):
        self.j += 1
        return mix64((self.key + 0x9E3779B97F4A7C15 * self.j) & M64)

    def below(self, n):
        return int(unit(self.next()) * n)


class SyntheticTask:
    """env_synthetic_generate with the registry's defaults: seed 1234, lengths 2..6, test 0.2."""

    def __init__(self, weights=(1, 1, 1, 1), seed=1234, min_len=2, max_len=6, test_fraction=0.2):
        self.w, self.seed, self.lo, self.hi, self.tf = list(weights), seed, min_len, max_len, test_fraction

    def _string(self, d, n, alphabet):
        return "".join(chr(ord("a") + d.below(alphabet)) for _ in range(n))

    def _make(self, skill, d):
        n = self.lo + d.below(self.hi - self.lo + 1)
        if skill == 0:
            x = []
            for _ in range(2):
                digits = self.lo + d.below(self.hi - self.lo + 1)
                lo = 10 ** (digits - 1)
                x.append(d.below(10) if digits == 1 else lo + d.next() % (lo * 9))
            return "What is %d + %d?" % (x[0], x[1]), str(x[0] + x[1])
        if skill == 1:
            s = self._string(d, n, 26)
            return "Reverse the string: " + s, s[::-1]
        if skill == 2:
            s = self._string(d, n, 5)
            c = chr(ord("a") + d.below(5))
            return "How many times does the letter '%s' appear in \"%s\"?" % (c, s), str(s.count(c))
        s = self._string(d, n, 26)
        return "Copy the string: " + s, s

    def item(self, split, i):
        want = {"train": 0, "test": 1}[split]
        total = sum(self.w)
        base = mix64(mix64(self.seed) ^ (want << 62) ^ mix64(i))
        u = unit(mix64(base)) * total
        skill = 0
        while skill < 3 and (u >= self.w[skill] or self.w[skill] == 0):
            u -= self.w[skill]
            skill += 1
        while self.w[skill] == 0:
            skill -= 1
        for att in range(100000):
            d = Draws(mix64(base ^ mix64(att + 1)))
            q, a = self._make(skill, d)
            if (unit(hash_str(0x73706C6974, q)) < self.tf) == bool(want):
                return SKILLS[skill], q, a
        raise RuntimeError("no item")


def prompt_of(question):
    return "Question: %s\nAnswer:" % question          # syn_format, no shots


def response_of(gold):
    return " The answer is %s.\n" % gold                 # " " + syn_gold_response + stop string


# Items of the C generator (a throwaway program calling env_synthetic_generate), as a check of the port.
KNOWN = [(("test", 0, (1, 1, 1, 1)), ("count", "How many times does the letter 'a' appear in \"baaa\"?", "3")),
         (("test", 1, (1, 1, 1, 1)), ("reverse", "Reverse the string: dzk", "kzd")),
         (("test", 3, (1, 1, 1, 1)), ("copy", "Copy the string: nehwm", "nehwm")),
         (("test", 4, (1, 1, 1, 1)), ("count", "How many times does the letter 'a' appear in \"edd\"?", "0"))]
KNOWN_MORE = "known_items.json"  # optional extra pairs written by the author's throwaway dump


def check_port():
    for (split, i, w), want in KNOWN:
        got = SyntheticTask(w).item(split, i)
        assert got == want, "port of envs/synthetic.c disagrees: %r vs %r" % (got, want)


# ---------------------------------------------------------------------------------------------
# Members

CHARS_ALPHABET = ["\n"] + [chr(c) for c in range(32, 127)]
# Training share per skill (add, reverse, count, copy).
MIX = {"chars": (0.0, 1.0, 0.0, 0.0), "bpe": (0.0, 0.0, 0.0, 1.0)}
ARCH = {  # LlamaConfig kwargs besides vocab and special ids
    "chars": dict(hidden_size=64, intermediate_size=192, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=4, max_position_embeddings=128),
    "bpe": dict(hidden_size=64, intermediate_size=192, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=4, max_position_embeddings=128),
}
SEEDS = {"chars": 11, "bpe": 22}
BPE_VOCAB = 400


def make_chars_tokenizer():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for ch in CHARS_ALPHABET:
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
           "unk_token": "<unk>", "clean_up_tokenization_spaces": False, "model_max_length": 128,
           "tokenizer_class": "PreTrainedTokenizerFast"}
    return tok, cfg, dict(bos_token_id=1, eos_token_id=2)


def make_bpe_tokenizer(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    cfg = {"add_bos_token": False, "add_eos_token": False, "bos_token": None, "eos_token": "<|endoftext|>",
           "unk_token": None, "clean_up_tokenization_spaces": False, "model_max_length": 128,
           "tokenizer_class": "PreTrainedTokenizerFast"}
    eos = tok.token_to_id("<|endoftext|>")
    return tok, cfg, dict(bos_token_id=eos, eos_token_id=eos)


def encode_example(tok, add_bos, bos, eos, question, gold):
    p = tok.encode(prompt_of(question), add_special_tokens=False).ids
    r = tok.encode(response_of(gold), add_special_tokens=False).ids + [eos]
    if add_bos:
        p = [bos] + p
    return p, r


def train_member(name, out_dir, steps, batch, log):
    seed = SEEDS[name]
    random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    task = SyntheticTask(MIX[name])
    n_items = steps * batch
    t0 = time.time()
    items = [task.item("train", i) for i in range(n_items)]
    log("%s: %d training items from the train split (mix add/rev/count/copy %s) in %.1f s" %
        (name, n_items, MIX[name], time.time() - t0))
    if name == "chars":
        tok, tcfg, special = make_chars_tokenizer()
    else:
        corpus_task = SyntheticTask((1, 1, 1, 1))
        corpus = [prompt_of(q) + response_of(a) for _, q, a in
                  (corpus_task.item("train", i) for i in range(20000))]
        tok, tcfg, special = make_bpe_tokenizer(corpus)
    vocab = tok.get_vocab_size()
    add_bos = tcfg["add_bos_token"]
    data = [encode_example(tok, add_bos, special["bos_token_id"], special["eos_token_id"], q, a)
            for _, q, a in items]
    cfg = transformers.LlamaConfig(vocab_size=vocab, rms_norm_eps=1e-5, rope_theta=10000.0,
                                   tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                                   initializer_range=0.02, **special, **ARCH[name])
    model = transformers.LlamaForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    lens = [len(p) + len(r) for p, r in data]
    log("%s: vocab %d, %d parameters, sequence length mean %.1f max %d" %
        (name, vocab, n_params, sum(lens) / len(lens), max(lens)))
    assert max(lens) <= cfg.max_position_embeddings
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.98), weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    pad = special["eos_token_id"]
    model.train()
    t0 = time.time()
    for step in range(steps):
        chunk = data[step * batch:(step + 1) * batch]
        L = max(len(p) + len(r) for p, r in chunk)
        ids = torch.full((len(chunk), L), pad, dtype=torch.long)
        labels = torch.full((len(chunk), L), -100, dtype=torch.long)
        for b, (p, r) in enumerate(chunk):
            ids[b, :len(p) + len(r)] = torch.tensor(p + r)
            labels[b, len(p):len(p) + len(r)] = torch.tensor(r)
        loss = model(input_ids=ids, labels=labels, use_cache=False).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log("%s: step %d/%d loss %.4f (%.0f s)" % (name, step, steps, loss.item(), time.time() - t0))
    train_s = time.time() - t0
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)
        f.write("\n")
    return dict(name=name, seed=seed, steps=steps, batch=batch, items=n_items, mix=MIX[name], vocab=vocab,
                params=n_params, train_seconds=round(train_s, 1), arch=ARCH[name])


# ---------------------------------------------------------------------------------------------
# Checks against rlae

def load_member(d):
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json")) as f:
        tcfg = json.load(f)
    model = transformers.LlamaForCausalLM.from_pretrained(d, torch_dtype=torch.float32)
    model.eval()
    return tok, tcfg, model


def rlae_ids(rlae, d, text):
    r = subprocess.run([rlae, "tokenize", "--tokenizer", d, "--text", text], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("rlae tokenize failed on %r: %s" % (text, r.stderr))
    return [int(x) for x in r.stdout.split()]


@torch.no_grad()
def hf_greedy(model, tok, tcfg, prompt, max_new=32):
    eos = tok.token_to_id(tcfg["eos_token"])
    ids = tok.encode(prompt, add_special_tokens=tcfg["add_bos_token"]).ids
    out = []
    for _ in range(max_new):
        nxt = int(model(input_ids=torch.tensor([ids + out]), use_cache=False).logits[0, -1].argmax())
        if nxt == eos:
            break
        out.append(nxt)
    if tok.decoder is None:  # chars: no decoder; tokens are the characters themselves
        return "".join(tok.id_to_token(i) for i in out)
    return tok.decode(out, skip_special_tokens=False)


def check_with_rlae(rlae, out, names, log):
    task = SyntheticTask((1, 1, 1, 1))
    texts = []
    for split in ("train", "test"):
        for i in range(40):
            _, q, a = task.item(split, i)
            texts += [prompt_of(q), response_of(a), prompt_of(q) + response_of(a)]
    texts += ["Hello world", "12 + 3456 = 3468", "  two  spaces\nand 'quotes' \"too\""]
    for name in names:
        d = os.path.join(out, name)
        tok, tcfg, model = load_member(d)
        bad = 0
        for t in texts:
            want = tok.encode(t, add_special_tokens=tcfg["add_bos_token"]).ids
            got = rlae_ids(rlae, d, t)
            if got != want:
                bad += 1
                if bad <= 3:
                    log("MISMATCH %s %r: hf %s rlae %s" % (name, t, want, got))
        log("%s: rlae tokenize == HF tokenizers on %d/%d texts" % (name, len(texts) - bad, len(texts)))
        if bad:
            raise SystemExit("tokenizer check failed for %s" % name)
        gbad = 0
        for i in range(4):
            _, q, a = task.item("test", i)
            p = prompt_of(q)
            want = hf_greedy(model, tok, tcfg, p)
            r = subprocess.run([rlae, "generate", "--model", d, "--prompt", p, "--temperature", "0",
                                "--max-tokens", "32"], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit("rlae generate failed for %s: %s" % (name, r.stderr))
            got = r.stdout  # rlae echoes the prompt, then streams the answer
            ok = got.rstrip("\n").endswith(want.rstrip("\n"))
            gbad += not ok
            log("%s: %-60r hf %-28r rlae %-28r %s" % (name, q, want, got, "ok" if ok else "DIFFERS"))
        if gbad:
            raise SystemExit("greedy generation check failed for %s" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="experiments/demo/models")
    ap.add_argument("--only", choices=["chars", "bpe"])
    ap.add_argument("--steps", type=int, default=0, help="training steps (default: per member)")
    ap.add_argument("--batch", type=int, default=0, help="batch size (default: per member)")
    ap.add_argument("--rlae", help="path of the rlae binary: check tokenization and generation with it")
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()
    log = lambda s: print(s, flush=True)
    check_port()
    log("port of envs/synthetic.c: ok on %d known items" % len(KNOWN))
    names = [args.only] if args.only else ["chars", "bpe"]
    if not args.check_only:
        for name in names:
            steps = args.steps or DEFAULT_STEPS[name]
            info = train_member(name, os.path.join(args.out, name), steps, args.batch or DEFAULT_BATCH[name], log)
            info.update(torch=torch.__version__, transformers=transformers.__version__,
                        tokenizers=tokenizers.__version__, command=" ".join(sys.argv))
            log("%s: %s" % (name, json.dumps(info)))
            with open(os.path.join(args.out, name, "training.json"), "w") as f:
                json.dump(info, f, indent=2)
                f.write("\n")
    if args.rlae:
        check_with_rlae(args.rlae, args.out, names, log)


DEFAULT_STEPS = {"chars": 700, "bpe": 700}
DEFAULT_BATCH = {"chars": 32, "bpe": 32}

if __name__ == "__main__":
    main()
