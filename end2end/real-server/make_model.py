#!/usr/bin/env python3
"""Build the tiny test model for the real-server test bed.

Writes into OUT_DIR (default target/real-server/model):
  tokenizer.json         byte-level BPE trained here with `tokenizers` (GPT-2 pre-tokenizer)
  tokenizer_config.json  so transformers' AutoTokenizer loads the folder offline
  config.json            minimal llama config (AutoConfig / GuideLLM are happy with it)
  model.gguf             llama architecture, random weights, same vocabulary/merges
                         (tokenizer.ggml.model = "gpt2", tokenizer.ggml.pre = "gpt-2")

Deterministic: the training corpus comes from a seeded generator in this file,
the weights from a seeded numpy generator.

Usage: make_model.py [OUT_DIR] [--vocab N] [--embd N] [--layers N] [--ff N]
                     [--heads N] [--kv-heads N] [--ctx N] [--dtype f16|f32]
"""

import argparse
import json
import os
import random
import sys

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
BOS = "<|endoftext|>"
EOS = "<|im_end|>"  # chatml end of turn; <|endoftext|> is also end-of-generation for llama.cpp
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

WORDS = """
the of and to a in is it you that he was for on are with as I his they be at one have this from or
had by hot word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make thing see
him two has look more day could go come did number sound no most people my over know water than call
first who may down side been now find any new work part take get place made live where after back
little only round man year came show every good me give our under name very through just form sentence
great think say help low line differ turn cause much mean before move right boy old too same tell does
set three want air well also play small end put home read hand port large spell add even land here
must big high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country found answer
school grow study still learn plant cover food sun four between state keep eye never last let thought
city tree cross farm hard start might story saw far sea draw left late run don't while press close
night real life few north open seem together next white children begin got walk example ease paper
group always music those both mark often letter until mile river car feet care second book carry took
science eat room friend began idea fish mountain stop once base hear horse cut sure watch color face
wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog
family direct pose leave song measure door product black short numeral class wind question happen
complete ship area half rock order fire south problem piece told knew pass since top whole king space
heard best hour better true during hundred five remember step early hold west ground interest reach
fast verb sing listen six table travel less morning ten simple several vowel toward war lay against
pattern slow center love person money serve appear road map rain rule govern pull cold notice voice
unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field
rest correct able pound done beauty drive stood contain front teach week final gave green oh quick
develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply
nothing course stay wheel full force blue object decide surface deep moon island foot system busy test
record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate
miss brought heat snow tire bring yes distant fill east paint language among grand ball yet wave drop
heart am present heavy dance engine position arm wide sail material size vary settle speak weight
general ice matter circle pair include divide syllable felt perhaps pick sudden count square reason
length represent art subject region energy hunt probable bed brother egg ride cell believe fraction
forest sit race window store summer train sleep prove lone leg exercise wall catch mount wish sky board
joy winter sat written wild instrument kept glass grass cow job edge sign visit past soft fun bright
gas weather month million bear finish happy hope flower clothe strange gone jump baby eight village
meet root buy raise solve metal whether push seven paragraph third shall held hair describe cook floor
either result burn hill safe cat century consider type law bit coast copy phrase silent tall sand soil
roll temperature finger industry value fight lie beat excite natural view sense ear else quite broke
case middle kill son lake moment scale loud spring observe child straight consonant nation dictionary
milk speed method organ pay age section dress cloud surprise quiet stone tiny climb cool design poor
lot experiment bottom key iron single stick flat twenty skin smile crease hole trade melody trip office
receive row mouth exact symbol die least trouble shout except wrote seed tone join suggest clean break
lady yard rise bad blow oil blood touch grew cent mix team wire cost lost brown wear garden equal sent
choose fell fit flow fair bank collect save control decimal gentle woman captain practice separate
difficult doctor please protect noon whose locate ring character insect caught period indicate radio
spoke atom human history effect electric expect crop modern element hit student corner party supply
bone rail imagine provide agree thus capital won't chair danger fruit rich thick soldier process operate
guess necessary sharp wing create neighbor wash bat rather crowd corn compare poem string bell depend
meat rub tube famous dollar stream fear sight thin triangle planet hurry chief colony clock mine tie
enter major fresh search send yellow gun allow print dead spot desert suit current lift rose continue
block chart hat sell success company subtract event particular deal swim term opposite wife shoe
shoulder spread arrange camp invent cotton born determine quart nine truck noise level chance gather
shop stretch throw shine property column molecule select wrong gray repeat require broad prepare salt
nose plural anger claim continent oxygen sugar death pretty skill women season solution magnet silver
thank branch match suffix especially fig afraid huge sister steel discuss forward similar guide
experience score apple bought led pitch coat mass card band rope slip win dream evening condition feed
tool total basic smell valley nor double seat arrive master track parent shore division sheet
substance favor connect post spend chord fat glad original share station dad bread charge proper bar
offer segment slave duck instant market degree populate chick dear enemy reply drink occur support
speech nature range steam motion path liquid log meant quotient teeth shell neck benchmark server
request token latency throughput concurrency inference model prompt stream response client socket
kernel memory cache queue thread batch request_id json http endpoint percentile histogram
""".split()

UNICODE_WORDS = [
    "café", "naïve", "résumé", "façade", "jalapeño", "über", "Straße", "Ångström", "smörgåsbord",
    "Москва", "привет", "мир", "Αθήνα", "λόγος", "日本語", "東京", "こんにちは", "中文", "你好",
    "한국어", "مرحبا", "שלום", "नमस्ते", "🙂", "🚀", "✓", "—", "…", "€", "£", "°C", "½", "π", "∑",
]

ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "qu", "r", "s", "t", "v", "w",
          "z", "br", "cl", "cr", "dr", "fl", "gr", "pl", "pr", "sh", "sl", "st", "str", "th", "tr", "ch"]
NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "io", "ou", "oo", "y"]
CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "rt", "x"]
PUNCT_END = [".", ".", ".", "!", "?", ";", "..."]


def pseudo_word(rng):
    return "".join(rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
                   for _ in range(rng.randint(1, 4)))


def number(rng):
    k = rng.random()
    if k < 0.3:
        return str(rng.randint(0, 100))
    if k < 0.5:
        return str(rng.randint(100, 100000))
    if k < 0.7:
        return f"{rng.uniform(0, 1000):.{rng.randint(1, 3)}f}"
    if k < 0.8:
        return f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1950, 2030)}"
    if k < 0.9:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    return f"{rng.randint(1, 99)}%"


def sentence(rng):
    words = []
    for i in range(rng.randint(4, 22)):
        k = rng.random()
        if k < 0.70:
            w = rng.choice(WORDS)
        elif k < 0.85:
            w = pseudo_word(rng)
        elif k < 0.93:
            w = number(rng)
        else:
            w = rng.choice(UNICODE_WORDS)
        if i == 0 or rng.random() < 0.05:
            w = w[:1].upper() + w[1:]
        if rng.random() < 0.02:
            w = w.upper()
        words.append(w)
        if rng.random() < 0.08:
            words[-1] += rng.choice([",", ",", ":", ")", "'s", "\""])
        if rng.random() < 0.03:
            words.append(rng.choice(["(", "\"", "-", "--", "/", "&", "#", "@", "*", "+", "="]))
    return " ".join(words) + rng.choice(PUNCT_END)


def corpus(n_paragraphs, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(n_paragraphs):
        par = " ".join(sentence(rng) for _ in range(rng.randint(1, 6)))
        k = rng.random()
        if k < 0.05:
            par = "    " + par
        elif k < 0.1:
            par = "- " + par
        elif k < 0.12:
            par = "\t" + par
        out.append(par + rng.choice(["\n", "\n\n", "\n", " \n"]))
    return out


def train_tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    # GPT-2 byte-level pre-tokenizer (regex of GPT-2) == llama.cpp's pre type "gpt-2"
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(60000), trainer=trainer)
    return tok


def write_hf_files(tok, out_dir, cfg):
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    tok_cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": None,
        "pad_token": BOS,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": cfg["ctx"],
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2, ensure_ascii=False)
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": BOS, "eos_token": EOS, "pad_token": BOS}, f, indent=2)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": tok.get_vocab_size(),
        "hidden_size": cfg["embd"],
        "intermediate_size": cfg["ff"],
        "num_hidden_layers": cfg["layers"],
        "num_attention_heads": cfg["heads"],
        "num_key_value_heads": cfg["kv_heads"],
        "max_position_embeddings": cfg["ctx"],
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "bos_token_id": tok.token_to_id(BOS),
        "eos_token_id": tok.token_to_id(EOS),
        "tie_word_embeddings": False,
        "torch_dtype": "float16" if cfg["dtype"] == "f16" else "float32",
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def write_gguf(tok, path, cfg):
    import gguf

    tj = json.loads(tok.to_str())
    vocab = tj["model"]["vocab"]
    n_vocab = tok.get_vocab_size()
    tokens = [None] * n_vocab
    for t, i in vocab.items():
        tokens[i] = t
    special_ids = set()
    for at in tj["added_tokens"]:
        tokens[at["id"]] = at["content"]
        if at["special"]:
            special_ids.add(at["id"])
    assert all(t is not None for t in tokens), "vocabulary ids are not contiguous"
    types = [gguf.TokenType.CONTROL if i in special_ids else gguf.TokenType.NORMAL
             for i in range(n_vocab)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]

    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tokenscope-tiny-random")
    w.add_context_length(cfg["ctx"])
    w.add_embedding_length(cfg["embd"])
    w.add_block_count(cfg["layers"])
    w.add_feed_forward_length(cfg["ff"])
    w.add_head_count(cfg["heads"])
    w.add_head_count_kv(cfg["kv_heads"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(cfg["embd"] // cfg["heads"])
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(n_vocab)
    ftype = gguf.LlamaFileType.MOSTLY_F16 if cfg["dtype"] == "f16" else gguf.LlamaFileType.ALL_F32
    w.add_file_type(ftype)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tok.token_to_id(BOS))
    w.add_eos_token_id(tok.token_to_id(EOS))
    w.add_pad_token_id(tok.token_to_id(BOS))
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    rng = np.random.default_rng(cfg["seed"])
    wdt = np.float16 if cfg["dtype"] == "f16" else np.float32
    e, ff, hd = cfg["embd"], cfg["ff"], cfg["embd"] // cfg["heads"]
    kv = hd * cfg["kv_heads"]

    def mat(rows, cols, std):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * std).astype(wdt)

    ones = np.ones(e, dtype=np.float32)
    w.add_tensor("token_embd.weight", mat(n_vocab, e, 1.0))
    for i in range(cfg["layers"]):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones)
        w.add_tensor(p + "attn_q.weight", mat(e, e, e ** -0.5))
        w.add_tensor(p + "attn_k.weight", mat(kv, e, e ** -0.5))
        w.add_tensor(p + "attn_v.weight", mat(kv, e, e ** -0.5))
        w.add_tensor(p + "attn_output.weight", mat(e, e, 0.5 * e ** -0.5))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate.weight", mat(ff, e, e ** -0.5))
        w.add_tensor(p + "ffn_up.weight", mat(ff, e, e ** -0.5))
        w.add_tensor(p + "ffn_down.weight", mat(e, ff, 0.5 * ff ** -0.5))
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", mat(n_vocab, e, cfg["out_std"]))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?", default="target/real-server/model")
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--embd", type=int, default=512)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--ff", type=int, default=1536)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--ctx", type=int, default=16384)
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    ap.add_argument("--out-std", type=float, default=0.05,
                    help="std of output projection: larger = peakier next-token distribution")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    cfg = dict(embd=a.embd, layers=a.layers, ff=a.ff, heads=a.heads, kv_heads=a.kv_heads,
               ctx=a.ctx, dtype=a.dtype, out_std=a.out_std, seed=a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    tok = train_tokenizer(a.vocab)
    print(f"trained byte-level BPE: vocab {tok.get_vocab_size()}", file=sys.stderr)
    write_hf_files(tok, a.out_dir, cfg)
    write_gguf(tok, os.path.join(a.out_dir, "model.gguf"), cfg)
    print(f"wrote {a.out_dir}/tokenizer.json, tokenizer_config.json, config.json, model.gguf "
          f"(llama, n_embd {a.embd}, {a.layers} layers, ff {a.ff}, ctx {a.ctx}, {a.dtype})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
