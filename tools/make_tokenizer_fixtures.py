#!/usr/bin/env python3
"""Builds the tokenizer test fixtures in tests/fixtures/tokenizers/ from independent references.

What it writes (all deterministic; rerun to regenerate, the tests need no Python):
  corpus.hex            >= 2000 test lines, one per line, hex-encoded so any bytes (invalid UTF-8,
                        newlines, tabs) survive. Built from a fixed seed.
  gpt2/tokenizer.json   GPT-2's byte-level BPE as an HF tokenizer.json, built by the `tokenizers`
                        package from ../shared/tokenizers/gpt2/{encoder.json,vocab.bpe}
                        (+ <|endoftext|> as a special added token).
  llama2/tokenizer.json Llama 2's SentencePiece BPE as an HF tokenizer.json, converted from
                        ../shared/tokenizers/llama2/tokenizer.model by transformers'
                        LlamaTokenizerFast(from_slow=True, legacy=True, add_prefix_space=True)
                        (LlamaConverter), with tokenizer_config.json beside it.
  ref_*.txt             reference ids, one line per corpus line ("-" where the reference tool
                        cannot take the line, i.e. invalid UTF-8 for Python-string APIs):
    ref_gpt2.txt          HF `tokenizers` on gpt2/tokenizer.json. Lines with invalid UTF-8: the valid
                          runs through `tokenizers`, each maximal invalid run as one word through a
                          plain Python port of OpenAI's encoder.py bpe() (the convention rlae uses:
                          invalid bytes split words and are byte-level encoded like any other bytes).
    ref_gpt2_llama3.txt   HF `tokenizers` on the GPT-2 vocabulary with Llama-3's pre-tokenizer
                          (Sequence[Split(Llama-3 regex, Isolated), ByteLevel(use_regex=false)]), first
                          1000 lines, valid UTF-8 only.
    ref_gpt2_qwen2.txt    same with Qwen2's split regex and an NFC normalizer, first 1000 lines.
    ref_llama2_hf.txt     HF `tokenizers` on llama2/tokenizer.json, no BOS (valid UTF-8 lines).
    ref_llama2_meta_hf.txt  same vocabulary with the non-legacy layout (Metaspace pre-tokenizer,
                          prepend_scheme "first", Replace normalizer only), no BOS.
    ref_llama2_sp.txt     sentencepiece on ../shared/tokenizers/llama2/tokenizer.model, no BOS.
    ref_l2c_tok512.txt, ref_l2c_tok105.txt, ref_l2c_llama2.txt
                          a line-by-line Python port of llama2.c run.c encode() (BOS on) on the
                          tokenizer.bin files of ../shared (stories260K, babyllama105, llama2).
  README.md             how it was made, package versions, agreement counts between references.

Usage: python3 tools/make_tokenizer_fixtures.py [--shared ../shared]
Needs: pip install tokenizers sentencepiece protobuf "transformers<5" (v4.46.3 used).
"""
import argparse
import json
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
SEED = 20240611
N_LINES = 2000

WORDS = ("the of and to in is was for that with as on by at from it an be this which or are have "
         "had not but were they their one all been has more when will would there who so if out up "
         "about into than them can only other new some could time these two may then do first any "
         "my now such like our over man me even most made after also did many before must through "
         "years where much your way well down should because each just those people Mr how too "
         "little state good very make world still own see men work long get here between both life "
         "being under never day same another know while last might us great old year off come since "
         "against go came right used take three Once upon a time there lived a little girl named Lily "
         "She loved to play outside in the park One day she saw big red ball wanted with it but too "
         "high tokenizer ensemble vocabulary probability distribution reinforcement learning agent "
         "isn't don't I'm we're you've they'll she'd it's HELLO World CamelCase snake_case "
         "internationalization antidisestablishmentarianism").split()
CODE = [
    "def f(x):\n    return x * 2\n",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "if __name__ == \"__main__\":\n\tmain()",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "const x = {a: 1, b: [2, 3]}; // comment",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "    x = y  +  z\t# aligned\n\n\n",
    "<div class=\"a\">&amp;&lt;</div>",
    "$ ls -la /usr/bin | grep -E '^l' > out.txt 2>&1",
    "fn main() { let v: Vec<u8> = vec![0xff, 0x10]; }",
    "λx.λy.x", "a_b-c.d/e\\f", "http://example.com/path?q=1&r=two#frag",
]
ACCENTS = ["café", "naïve", "résumé", "Ångström", "Übermäßig", "señor", "ça va", "Dvořák",
           "Łódź", "Straße", "cafe\u0301", "e\u0301\u0301", "A\u030a", "ﬁnancial", "Ⅻ", "①②③"]
CJK = ["日本語のテキスト", "中文分词测试", "한국어 문장입니다", "東京都", "你好，世界！", "こんにちは世界",
       "漢字とかなカナ", "我爱自然语言处理"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "🤖✨", "🎉🎉🎉", "☕", "🙂 ok", "🦀🐍"]
SCRIPTS = ["Привет мир", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
           "สวัสดีชาวโลก", "Xin chào thế giới", "ሰላም ዓለም", "Բարեւ աշխարհ", "ᚠᛇᚻ᛫ᛒᛦᚦ"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2028",
          "\u180e", "\u2009", "\u200b", "\x0b", "\x0c", "\u0085"]
SPECIAL_TEXT = ["<|endoftext|>", "<s>", "</s>", "<unk>", "<0x0A>", "\n<s>\n", "<|endoftext|><|endoftext|>"]
PUNCT = list(".,;:!?'\"()[]{}-–—…/\\@#$%^&*_+=<>|~`") + ["'s", "'S", "'ll", "'LL", "'re", "'ve", "'d", "'m", "n't"]


LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
             r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
            r"\s*[\r\n]+|\s+(?!\S)|\s+")


def number(rng):
    k = rng.randrange(6)
    if k == 0:
        return str(rng.randrange(10 ** rng.randrange(1, 12)))
    if k == 1:
        return "%.*f" % (rng.randrange(1, 6), rng.uniform(-1e4, 1e4))
    if k == 2:
        return "%d,%03d,%03d" % (rng.randrange(1000), rng.randrange(1000), rng.randrange(1000))
    if k == 3:
        return "0x%x" % rng.randrange(1 << 32)
    if k == 4:
        return "%d-%02d-%02d" % (rng.randrange(1900, 2100), rng.randrange(1, 13), rng.randrange(1, 29))
    return "%de%d" % (rng.randrange(1, 10), rng.randrange(-30, 30))


def prose(rng, n):
    ws = [rng.choice(WORDS) for _ in range(n)]
    s = " ".join(ws)
    if rng.random() < 0.7:
        s = s[0].upper() + s[1:] + rng.choice([".", "!", "?", ",", "", "..."])
    return s


def invalid_bytes(rng):
    cands = [b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\xaf", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80",
             b"\xf4\x90\x80\x80", b"\xc3", b"\xe4\xb8", bytes([rng.randrange(0x80, 0x100)]),
             bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 6)))]
    return rng.choice(cands)


def make_line(rng):
    parts = []
    for _ in range(rng.randrange(1, 9)):
        k = rng.random()
        if k < 0.30:
            parts.append(prose(rng, rng.randrange(1, 14)))
        elif k < 0.38:
            parts.append(rng.choice(CODE))
        elif k < 0.46:
            parts.append(number(rng))
        elif k < 0.56:
            parts.append(rng.choice(SPACES) * rng.randrange(1, 4))
        elif k < 0.62:
            parts.append(rng.choice(ACCENTS))
        elif k < 0.68:
            parts.append(rng.choice(CJK))
        elif k < 0.73:
            parts.append(rng.choice(EMOJI))
        elif k < 0.79:
            parts.append(rng.choice(SCRIPTS))
        elif k < 0.87:
            parts.append(rng.choice(PUNCT))
        elif k < 0.90:
            parts.append(rng.choice(SPECIAL_TEXT))
        else:
            parts.append(rng.choice(["", " "]))
    sep = rng.choice(["", " ", " ", " ", "\n", "  "])
    return sep.join(parts).encode("utf-8")


def make_corpus():
    rng = random.Random(SEED)
    fixed = [b"", b" ", b"  ", b"\n", b"\n\n\n", b"\t", b"a", b"Hello world", b" Hello world",
             b"Hello  world  ", b"The quick brown fox jumps over the lazy dog.", b"I'll we'll WE'LL",
             b"12345678901234567890", b"<|endoftext|>", b"a<|endoftext|>b", b" <s> x </s> ",
             b"<0x0A>", b"\xff", b"\xc3\x28", b"a\x80b", b"\xe2\x82\xac\xe2\x82", b"x" * 300,
             b" " * 50, b"\n" * 20, "é".encode() * 40, ("日本" * 30).encode()]
    lines = list(fixed)
    while len(lines) < N_LINES:
        line = make_line(rng)
        if rng.random() < 0.08:  # inject invalid UTF-8 somewhere
            pos = rng.randrange(len(line) + 1)
            line = line[:pos] + invalid_bytes(rng) + line[pos:]
        if b"\x00" in line:  # run.c reads C strings; keep lines NUL-free so every reference sees them
            continue
        lines.append(line)
    return lines


def valid_runs(b):
    """Splits bytes into (is_valid, bytes) runs the way a strict UTF-8 decoder sees them."""
    runs, i = [], 0
    while i < len(b):
        try:
            b[i:].decode("utf-8")
            runs.append((True, b[i:]))
            break
        except UnicodeDecodeError as e:
            if e.start > 0:
                runs.append((True, b[i:i + e.start]))
            bad = b[i + e.start:i + e.end]
            if runs and not runs[-1][0]:
                runs[-1] = (False, runs[-1][1] + bad)
            else:
                runs.append((False, bad))
            i += e.end
    return runs


# ---- GPT-2 reference for invalid runs: OpenAI encoder.py's bpe() ------------------------------------
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def openai_bpe(token, ranks):
    word = tuple(token)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new, i = [], 0
        while i < len(word):
            try:
                j = word.index(first, i)
            except ValueError:
                new.extend(word[i:])
                break
            new.extend(word[i:j])
            i = j
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = tuple(new)
    return word


# ---- llama2.c run.c encode(), ported line by line ---------------------------------------------------
def load_l2c(path):
    d = open(path, "rb").read()
    mtl = struct.unpack("<i", d[:4])[0]
    o, vocab, scores = 4, [], []
    while o < len(d):
        s, n = struct.unpack("<fi", d[o:o + 8])
        o += 8
        vocab.append(d[o:o + n])
        scores.append(s)
        o += n
    lookup = {}
    for i, p in enumerate(vocab):
        lookup.setdefault(p, i)
    return vocab, scores, lookup, mtl


def l2c_encode(tok, text, bos=True):
    vocab, scores, lookup, _ = tok
    V = len(vocab)
    tokens = [1] if bos else []
    if text:
        tokens.append(lookup[b" "])
    i = 0
    while i < len(text):
        g = 1
        while i + g < len(text) and g < 4 and (text[i + g] & 0xC0) == 0x80:
            g += 1
        piece = text[i:i + g]
        if piece in lookup:
            tokens.append(lookup[piece])
        else:  # byte fallback id = byte + 3; run.c reads out of bounds past the vocab: <unk> there
            tokens.extend(b + 3 if b + 3 < V else 0 for b in piece)
        i += g
    while True:
        best_score, best_id, best_idx = struct.unpack("<f", struct.pack("<f", -1e10))[0], -1, -1
        for k in range(len(tokens) - 1):
            mid = lookup.get(vocab[tokens[k]] + vocab[tokens[k + 1]], -1)
            if mid != -1 and scores[mid] > best_score:
                best_score, best_id, best_idx = scores[mid], mid, k
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


def write_ids(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write("-\n" if r is None else " ".join(map(str, r)) + "\n")


def compact_json(src, dst):
    with open(src, encoding="utf-8") as f:
        d = json.load(f)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(d, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    args = ap.parse_args()
    import sentencepiece as spm
    import tokenizers
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers import normalizers
    sh = args.shared
    os.makedirs(os.path.join(OUT, "gpt2"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "llama2"), exist_ok=True)
    lines = make_corpus()
    with open(os.path.join(OUT, "corpus.hex"), "w") as f:
        for line in lines:
            f.write(line.hex() + "\n")
    texts = []
    for line in lines:
        try:
            texts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(None)
    n_valid = sum(t is not None for t in texts)
    notes = []

    # GPT-2 tokenizer.json
    g = os.path.join(sh, "tokenizers", "gpt2")
    bpe = models.BPE.from_file(os.path.join(g, "encoder.json"), os.path.join(g, "vocab.bpe"))
    gt = Tokenizer(bpe)
    gt.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    gt.decoder = decoders.ByteLevel()
    gt.post_processor = processors.ByteLevel(trim_offsets=False)
    gt.add_special_tokens(["<|endoftext|>"])
    tmp = os.path.join(OUT, "gpt2", "tokenizer.json.tmp")
    gt.save(tmp)
    compact_json(tmp, os.path.join(OUT, "gpt2", "tokenizer.json"))
    os.remove(tmp)
    gt = Tokenizer.from_file(os.path.join(OUT, "gpt2", "tokenizer.json"))
    enc = json.load(open(os.path.join(g, "encoder.json"), encoding="utf-8"))
    merges = [tuple(l.split()) for l in open(os.path.join(g, "vocab.bpe"), encoding="utf-8").read().split("\n")[1:] if l]
    ranks = {m: i for i, m in enumerate(merges)}
    b2u = bytes_to_unicode()
    rows = []
    for line in lines:
        ids = []
        for ok, run in valid_runs(line):
            if ok:
                ids += gt.encode(run.decode("utf-8"), add_special_tokens=False).ids
            else:
                ids += [enc[t] for t in openai_bpe("".join(b2u[b] for b in run), ranks)]
        rows.append(ids)
    write_ids(os.path.join(OUT, "ref_gpt2.txt"), rows)
    # How often the invalid-run convention matters vs the pure tokenizers output on valid lines.
    notes.append("GPT-2: %d lines, %d with invalid UTF-8 (valid runs via tokenizers, invalid runs via "
                 "the encoder.py bpe() port)" % (len(lines), len(lines) - n_valid))

    # Llama-3 / Qwen2 style pre-tokenization (Split regex + ByteLevel without its regex; Qwen2 adds
    # NFC) over the GPT-2 vocabulary: the layouts rlae must read, with the vocabulary we have.
    gd = json.load(open(os.path.join(OUT, "gpt2", "tokenizer.json"), encoding="utf-8"))
    for name, regex, norm in (("llama3", LLAMA3_RE, None), ("qwen2", QWEN2_RE, {"type": "NFC"})):
        vd = dict(gd)
        vd["normalizer"] = norm
        vd["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        vt = Tokenizer.from_str(json.dumps(vd))
        rows = [vt.encode(t, add_special_tokens=False).ids if t is not None and i < 1000 else None
                for i, t in enumerate(texts)]
        write_ids(os.path.join(OUT, "ref_gpt2_%s.txt" % name), rows)

    # Llama 2 tokenizer.json (legacy layout: Prepend + Replace normalizer, no pre-tokenizer)
    from transformers import LlamaTokenizerFast
    model = os.path.join(sh, "tokenizers", "llama2", "tokenizer.model")
    lt = LlamaTokenizerFast(vocab_file=model, from_slow=True, legacy=True, add_prefix_space=True)
    tmpdir = os.path.join(OUT, "llama2", "tmp")
    lt.save_pretrained(tmpdir)
    ld = compact_json(os.path.join(tmpdir, "tokenizer.json"), os.path.join(OUT, "llama2", "tokenizer.json"))
    cfg = json.load(open(os.path.join(tmpdir, "tokenizer_config.json")))
    keep = {k: cfg[k] for k in ("add_bos_token", "add_eos_token", "bos_token", "eos_token", "unk_token",
                                "legacy", "tokenizer_class") if k in cfg}
    with open(os.path.join(OUT, "llama2", "tokenizer_config.json"), "w") as f:
        json.dump(keep, f, indent=2)
        f.write("\n")
    for fn in os.listdir(tmpdir):
        os.remove(os.path.join(tmpdir, fn))
    os.rmdir(tmpdir)
    lht = Tokenizer.from_file(os.path.join(OUT, "llama2", "tokenizer.json"))
    # The non-legacy layout of the same vocabulary, as transformers writes it with legacy=False.
    md = dict(ld)
    md["normalizer"] = None
    md["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    mht = Tokenizer.from_str(json.dumps(md))
    sp = spm.SentencePieceProcessor(model_file=model)
    hf_rows, meta_rows, sp_rows = [], [], []
    agree = agree_meta = 0
    special_lines = 0
    for t in texts:
        if t is None:
            hf_rows.append(None)
            meta_rows.append(None)
            sp_rows.append(None)
            continue
        a = lht.encode(t, add_special_tokens=False).ids
        m = mht.encode(t, add_special_tokens=False).ids
        s = sp.encode(t)
        hf_rows.append(a)
        meta_rows.append(m)
        sp_rows.append(s)
        agree += a == s
        agree_meta += m == s
        special_lines += any(x in t for x in ("<s>", "</s>", "<unk>"))
    write_ids(os.path.join(OUT, "ref_llama2_hf.txt"), hf_rows)
    write_ids(os.path.join(OUT, "ref_llama2_meta_hf.txt"), meta_rows)
    write_ids(os.path.join(OUT, "ref_llama2_sp.txt"), sp_rows)
    notes.append("Llama 2: of %d valid-UTF-8 lines, tokenizers (legacy tokenizer.json) == sentencepiece on "
                 "%d, (Metaspace layout) on %d; %d lines contain <s>, </s> or <unk> as text, which HF "
                 "splits out as special tokens and sentencepiece does not" % (n_valid, agree, agree_meta, special_lines))

    # llama2.c tokenizer.bin files: run.c port; sentencepiece agreement where a .model exists.
    for name, rel, model_rel in (("tok512", "models/stories260K/tok512.bin", None),
                                 ("tok105", "models/babyllama105/tok105.bin", "models/babyllama105/tok105.model"),
                                 ("llama2", "tokenizers/llama2/tokenizer.bin", "tokenizers/llama2/tokenizer.model")):
        tok = load_l2c(os.path.join(sh, rel))
        rows = [l2c_encode(tok, line) for line in lines]
        write_ids(os.path.join(OUT, "ref_l2c_%s.txt" % name), rows)
        if model_rel:
            spx = spm.SentencePieceProcessor(model_file=os.path.join(sh, model_rel))
            same = sum(1 for line, t, r in zip(lines, texts, rows)
                       if t is not None and [1] + spx.encode(t) == (r if t else [1]))
            notes.append("llama2.c %s: run.c port == sentencepiece (%s, BOS prepended) on %d of %d "
                         "valid-UTF-8 lines" % (rel, model_rel, same, n_valid))

    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("# Tokenizer fixtures\n\nGenerated by `python3 tools/make_tokenizer_fixtures.py` (see its "
                "docstring for what each file is). Do not edit by hand; rerun the script.\n\n")
        f.write("Packages: python %s, tokenizers %s, sentencepiece %s, transformers %s.\n\n" % (
            sys.version.split()[0], tokenizers.__version__, spm.__version__, transformers.__version__))
        f.write("Corpus: %d lines from seed %d (prose, code, numbers, whitespace runs, tabs, accents and "
                "combining marks, CJK, emoji, other scripts, literal special-token text, %d lines with "
                "invalid UTF-8).\n\n" % (len(lines), SEED, len(lines) - n_valid))
        f.write("Agreement between the references (measured when generated):\n\n")
        for n in notes:
            f.write("- %s\n" % n)
    print("\n".join(notes))


if __name__ == "__main__":
    main()
