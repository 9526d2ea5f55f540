#!/usr/bin/python3
"""Generate the Hugging Face GPT-2 fixtures of gpt2cl's format tests, with the real transformers.

A tiny random GPT2LMHeadModel (V=101, n_positions=16, L=2, n_head=4, n_embd=32; every parameter random, so a
misplaced or untransposed tensor shows), saved by save_pretrained as
  tests/fixtures/hf/f32/      config.json + model.safetensors (F32)
  tests/fixtures/hf/bf16/     the same model cast to bfloat16 (BF16 tensors)
  tests/fixtures/hf/f16/      the same model cast to float16 (F16 tensors)
  tests/fixtures/hf/sharded/  the BF16 model in shards (model.safetensors.index.json)
  tests/fixtures/hf/llmc_bf16.bin  the same weights in llm.c's bf16 layout (version 5: int32 header[256],
                              then every parameter as bf16 in llm.c's order, wte padded to 128 rows), as
                              llm.c's train_gpt2.py writes it
and the reference: reference.json (the batch x, y; the losses) and logits_{f32,bf16,f16}.bin (B*T*V
float32, little-endian), computed in float64 by transformers from each saved folder (the BF16 and F16 ones
from their 16-bit weights, exactly as they are in the file).

Run: python3 tests/make_hf_fixtures.py   (needs torch and transformers; deterministic)
"""
import json
import os
import shutil
import struct

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

torch.set_num_threads(1)
V, Vp, maxT, L, NH, C = 101, 128, 16, 2, 4, 32
B, T = 2, 16
SEED = 4321
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "hf")


def random_model():
    torch.manual_seed(SEED)
    cfg = GPT2Config(vocab_size=V, n_positions=maxT, n_embd=C, n_layer=L, n_head=NH, bos_token_id=V - 1,
                     eos_token_id=V - 1)
    model = GPT2LMHeadModel(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_((0.02 if p.dim() == 1 else 0.1) * torch.randn_like(p))
    return model.eval()


def reference(folder, x, y):
    """Logits (B, T, V) and mean loss of the saved model, in float64."""
    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float64).eval()
    with torch.no_grad():
        out = model(input_ids=x)
        logits = out.logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    return logits.float().numpy().astype("<f4").tobytes(), float(loss)


def llmc_bf16(model, path):
    """llm.c's version-5 checkpoint: header, then the parameters as bf16 in llm.c's order."""
    sd = {k: v.float() for k, v in model.state_dict().items()}
    tr = "transformer."
    wte = torch.zeros(Vp, C)
    wte[:V] = sd[tr + "wte.weight"]
    per_layer = lambda suffix, t=False: torch.stack(  # noqa: E731
        [sd["%sh.%d.%s" % (tr, i, suffix)].t() if t else sd["%sh.%d.%s" % (tr, i, suffix)] for i in range(L)])
    tensors = [wte, sd[tr + "wpe.weight"], per_layer("ln_1.weight"), per_layer("ln_1.bias"),
               per_layer("attn.c_attn.weight", True), per_layer("attn.c_attn.bias"),
               per_layer("attn.c_proj.weight", True), per_layer("attn.c_proj.bias"),
               per_layer("ln_2.weight"), per_layer("ln_2.bias"), per_layer("mlp.c_fc.weight", True),
               per_layer("mlp.c_fc.bias"), per_layer("mlp.c_proj.weight", True), per_layer("mlp.c_proj.bias"),
               sd[tr + "ln_f.weight"], sd[tr + "ln_f.bias"]]
    header = [0] * 256
    header[:8] = [20240326, 5, maxT, V, L, NH, C, Vp]
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *header))
        for t in tensors:
            f.write(t.contiguous().reshape(-1).to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes())


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    model = random_model()
    model.save_pretrained(os.path.join(OUT, "f32"), safe_serialization=True)
    model.to(torch.bfloat16).save_pretrained(os.path.join(OUT, "bf16"), safe_serialization=True)
    model.save_pretrained(os.path.join(OUT, "sharded"), safe_serialization=True, max_shard_size="30KB")
    model = random_model()
    model.to(torch.float16).save_pretrained(os.path.join(OUT, "f16"), safe_serialization=True)
    model = random_model()
    for d in ("f32", "sharded", "bf16", "f16"):  # gpt2cl reads neither; keep the fixture small
        p = os.path.join(OUT, d, "generation_config.json")
        if os.path.exists(p):
            os.remove(p)
    llmc_bf16(model, os.path.join(OUT, "llmc_bf16.bin"))
    g = torch.Generator().manual_seed(SEED)
    x = torch.randint(0, V, (B, T), generator=g)
    y = torch.randint(0, V, (B, T), generator=g)
    ref = {"B": B, "T": T, "x": x.reshape(-1).tolist(), "y": y.reshape(-1).tolist(),
           "transformers": transformers.__version__, "torch": torch.__version__.split("+")[0]}
    for d in ("f32", "bf16", "f16"):
        logits, loss = reference(os.path.join(OUT, d), x, y)
        with open(os.path.join(OUT, "logits_%s.bin" % d), "wb") as f:
            f.write(logits)
        ref["loss_" + d] = loss
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
