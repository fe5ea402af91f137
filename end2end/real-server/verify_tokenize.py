#!/usr/bin/env python3
"""Check that llama-server's POST /tokenize gives exactly the ids of the HF tokenizer.

Usage: verify_tokenize.py BASE_URL TOKENIZER_DIR
Exit 0 if all texts match, 1 otherwise.
"""

import json
import os
import random
import sys
import urllib.request

from tokenizers import Tokenizer

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "It's 3:45 pm on 12/05/2024 and it'll cost $1,234.56 (about 7%).",
    "I'm sure they've said we'd go, but you're late and he's not.",
    "  leading spaces, trailing spaces   ",
    "multiple    inner     spaces\tand\ttabs",
    "line one\nline two\n\nline four\r\nwindows line\n",
    "   \n  \n\t\n",
    "café naïve résumé façade jalapeño über Straße Ångström",
    "Москва — столица России. Привет, мир!",
    "日本語のテキストと中文文本，还有한국어 텍스트。",
    "Emoji: 🙂🚀👩‍💻 ✓ € £ ½ π ∑ °C …",
    "مرحبا بالعالم שלום עולם नमस्ते दुनिया",
    "numbers 0 1 12 123 1234 12345 123456789 3.14159 -42 +7 1e10 0x1F",
    "punctuation!!! ??? ... --- ((nested)) [brackets] {braces} <tags> \"quotes\" 'single'",
    "code: fn main() { let x = vec![1, 2, 3]; println!(\"{:?}\", x); }",
    "URL https://example.com/path?query=1&b=two#frag and email a.b@c.org",
    "CamelCaseWords snake_case_words kebab-case-words ALLCAPS MiXeD",
    "A" * 50 + " " + "ab" * 40,
    "benchmark server request token latency throughput concurrency inference",
    "Ġ Ċ unusual byte-level lookalikes Ã© Ð",
    "\u00a0non-breaking\u2003em-space\u200bzero-width\ufeffbom",
]


def random_texts(n, seed=7):
    rng = random.Random(seed)
    alphabet = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                " \n\t.,;:!?'\"()-_/\\@#$%^&*+=<>[]{}|~`éüñßøæ中文日本русский🙂")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))) for _ in range(n)]


def server_tokenize(base, text):
    req = urllib.request.Request(
        base.rstrip("/") + "/tokenize",
        data=json.dumps({"content": text, "add_special": False}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["tokens"]


def main():
    base, tok_dir = sys.argv[1], sys.argv[2]
    tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    texts = TEXTS + random_texts(int(os.environ.get("N_RANDOM", "30")))
    bad = 0
    for i, t in enumerate(texts):
        hf = tok.encode(t, add_special_tokens=False).ids
        srv = server_tokenize(base, t)
        ok = hf == srv
        bad += not ok
        tag = "fixed " if i < len(TEXTS) else "random"
        print(f"{'OK  ' if ok else 'DIFF'} {tag} #{i:02d} tokens={len(hf):3d} text={t[:50]!r}")
        if not ok:
            print(f"     hf    : {hf}")
            print(f"     server: {srv}")
    print(f"tokenize check: {len(texts) - bad}/{len(texts)} texts identical "
          f"({len(TEXTS)} fixed + {len(texts) - len(TEXTS)} random)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
