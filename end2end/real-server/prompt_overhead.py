#!/usr/bin/env python3
"""Prompt-token accounting of llama-server for a GuideLLM-style synthetic prompt (Faker text cut to exactly
N tokens with the HF tokenizer, then decoded, as GuideLLM's synthetic_text does).
Prints: HF token count, llama-server /tokenize count, usage.prompt_tokens via /v1/completions and via
/v1/chat/completions (the difference is the chat template overhead), and the rendered chat template.
Usage (GuideLLM venv python, which has faker + transformers): prompt_overhead.py PORT TOKENIZER_DIR [N]"""
import json, sys, urllib.request
from faker import Faker
from transformers import AutoTokenizer

port, tok_dir = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 128
base = f"http://127.0.0.1:{port}"
tok = AutoTokenizer.from_pretrained(tok_dir)

def post(path, body):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(r, timeout=300))

f = Faker(); f.seed_instance(42)
rows = []
for i in range(5):
    ids = tok.encode(f.text(max_nb_chars=n * 8))[:n]
    text = tok.decode(ids, skip_special_tokens=True)
    hf = len(tok.encode(text))
    srv = len(post("/tokenize", {"content": text})["tokens"])
    comp = post("/v1/completions", {"prompt": text, "max_tokens": 1})["usage"]["prompt_tokens"]
    chat = post("/v1/chat/completions", {"messages": [{"role": "user", "content": text}], "max_tokens": 1})["usage"]["prompt_tokens"]
    rows.append((hf, srv, comp, chat))
    print(f"prompt {i}: hf re-encode {hf}  /tokenize {srv}  completions prompt_tokens {comp}  chat prompt_tokens {chat}  (chat overhead {chat - comp})")
tmpl = post("/apply-template", {"messages": [{"role": "user", "content": "X"}]})["prompt"]
print("chat template renders one user message 'X' as:", repr(tmpl))
