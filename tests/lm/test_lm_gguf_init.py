"""The temporal transformer initialised from a text LLM in a GGUF file: the real
Qwen2.5-Coder-0.5B agrees with llama.cpp on the same prompt; tiny Qwen2 and Llama GGUFs
written here agree with an independent forward (NEOX RoPE, grouped-query attention, q/k/v
biases; Llama's q/k rows stored permuted as llama.cpp's converter does); frozen
backbone + speech layers train only the new parts; the CLI writes a loadable checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from antiphon.cli import main as cli_main
from antiphon.lm.checkpoint import load_lm
from antiphon.lm.config import ConfigError, tiny_config
from antiphon.lm.gguf_init import GGUFWeights, init_from_gguf, neox_to_interleaved
from antiphon.lm.model import LMModel

gguf = pytest.importorskip("gguf")

DIM, HEADS, KV_HEADS, FFN, LAYERS, VOCAB, THETA, EPS = 64, 4, 2, 96, 2, 40, 1e6, 1e-6


def write_tiny_gguf(path: Path, arch: str = "qwen2") -> Path:
    """A 2-layer Qwen2 or Llama GGUF, weights quantised to Q8_0 (biases and norms float32).
    Llama q/k rows are stored permuted, as llama.cpp's converter writes them."""
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(LAYERS)
    w.add_context_length(256)
    w.add_embedding_length(DIM)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(EPS)
    w.add_rope_freq_base(THETA)
    kv = DIM // HEADS * KV_HEADS

    def add(name: str, *shape: int, q8: bool = True) -> None:
        a = (rng.standard_normal(shape) / math.sqrt(shape[-1])).astype(np.float32)
        if arch == "llama" and name.endswith(("attn_q.weight", "attn_k.weight")):
            a = llama_cpp_permute(a, HEADS if "attn_q" in name else KV_HEADS)
        if len(shape) == 1:
            a = (1 + 0.1 * a).astype(np.float32) if "norm" in name else a
            w.add_tensor(name, a)
        elif q8:
            q = gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a)

    add("token_embd.weight", VOCAB, DIM, q8=False)
    add("output_norm.weight", DIM)
    for n in range(LAYERS):
        for name, shape in (
            ("attn_norm.weight", (DIM,)),
            ("attn_q.weight", (DIM, DIM)),
            ("attn_q.bias", (DIM,)),
            ("attn_k.weight", (kv, DIM)),
            ("attn_k.bias", (kv,)),
            ("attn_v.weight", (kv, DIM)),
            ("attn_v.bias", (kv,)),
            ("attn_output.weight", (DIM, DIM)),
            ("ffn_norm.weight", (DIM,)),
            ("ffn_gate.weight", (FFN, DIM)),
            ("ffn_up.weight", (FFN, DIM)),
            ("ffn_down.weight", (DIM, FFN)),
        ):
            if arch == "qwen2" or not name.endswith(".bias"):
                add(f"blk.{n}.{name}", *shape)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def llama_cpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's ``convert_hf_to_gguf`` ``LlamaModel.permute`` (HF q/k rows -> GGUF)."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-qwen2.gguf")


def reference_forward(weights: GGUFWeights, x: torch.Tensor) -> torch.Tensor:
    """Plain Qwen2 / Llama (the HF formulation: rotate_half RoPE, repeated kv heads, Qwen2's
    q/k/v biases), ``x [T, D]``; Llama q/k rows are first put back in the HF order."""
    g = weights.backbone
    hd, t = g.dim // g.num_heads, x.shape[0]
    inv = 1.0 / g.rope_theta ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.cat([torch.outer(torch.arange(t).float(), inv)] * 2, dim=-1)  # [T, hd]

    def rope(v: torch.Tensor) -> torch.Tensor:  # [H, T, hd]
        half = torch.cat([-v[..., hd // 2 :], v[..., : hd // 2]], dim=-1)
        return v * ang.cos() + half * ang.sin()

    def norm(v: torch.Tensor, name: str) -> torch.Tensor:
        return F.rms_norm(v, (g.dim,), weights.tensor(name), g.norm_eps)

    for n in range(g.num_layers):

        def p(name: str, n: int = n) -> torch.Tensor:
            if name.endswith(".bias") and not g.qkv_bias:
                return torch.zeros(())
            value = weights.tensor(f"blk.{n}.{name}")
            if g.arch == "llama" and name in ("attn_q.weight", "attn_k.weight"):
                value = _interleaved_to_neox(value, hd)
            return value

        h = norm(x, f"blk.{n}.attn_norm.weight")
        q = (h @ p("attn_q.weight").T + p("attn_q.bias")).view(t, -1, hd).transpose(0, 1)
        k = (h @ p("attn_k.weight").T + p("attn_k.bias")).view(t, -1, hd).transpose(0, 1)
        v = (h @ p("attn_v.weight").T + p("attn_v.bias")).view(t, -1, hd).transpose(0, 1)
        rep = g.num_heads // g.num_kv_heads
        k, v = rope(k).repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        a = F.scaled_dot_product_attention(rope(q), k, v, is_causal=True)
        x = x + a.transpose(0, 1).reshape(t, -1) @ p("attn_output.weight").T
        h = norm(x, f"blk.{n}.ffn_norm.weight")
        gated = F.silu(h @ p("ffn_gate.weight").T) * (h @ p("ffn_up.weight").T)
        x = x + gated @ p("ffn_down.weight").T
    return norm(x, "output_norm.weight")


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_tiny_gguf_matches_an_independent_forward(arch: str, tmp_path: Path) -> None:
    weights = GGUFWeights(write_tiny_gguf(tmp_path / f"tiny-{arch}.gguf", arch))
    biases = 3 * LAYERS if arch == "qwen2" else 0
    assert weights.quant_types() == {"F32": 2 + 2 * LAYERS + biases, "Q8_0": 7 * LAYERS}
    model = init_from_gguf(weights, tiny_config()).eval()
    c = model.config
    assert (c.dim, c.num_heads, c.kv_repeat, c.num_layers) == (DIM, HEADS, 2, LAYERS)
    assert (c.qkv_bias, c.ffn_hidden, c.max_period) == (arch == "qwen2", FFN, THETA)
    assert c.norm_eps == pytest.approx(EPS) and c.depth_kv_repeat == 1
    x = weights.tensor("token_embd.weight", torch.tensor([3, 17, 5, 8, 39, 0, 21, 2, 11, 30]))
    with torch.no_grad():
        ours = model.out_norm(model.transformer(x[None]))[0]
        ref = reference_forward(weights, x)
        # the layout matters: with q/k rows in the other RoPE layout it disagrees
        for name, w in model.transformer.named_parameters():
            if not name.endswith("in_projs.0.weight"):
                continue
            w[: DIM + DIM // 2] = torch.cat(
                [
                    _interleaved_to_neox(w[:DIM], DIM // HEADS),
                    _interleaved_to_neox(w[DIM : DIM + DIM // 2], DIM // HEADS),
                ]
            )
        wrong = model.out_norm(model.transformer(x[None]))[0]
    assert float((ours - ref).abs().max()) < 1e-4 * float(ref.abs().max())
    assert float((wrong - ref).abs().max()) > 1e-2 * float(ref.abs().max())


def _interleaved_to_neox(w: torch.Tensor, head_dim: int) -> torch.Tensor:
    heads = w.shape[0] // head_dim
    return w.reshape(heads, head_dim // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def test_neox_permutation_is_the_documented_row_order() -> None:
    rows = torch.arange(8).view(8, 1)
    assert neox_to_interleaved(rows, 4).view(-1).tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_frozen_backbone_with_speech_layers(tiny_gguf: Path) -> None:
    torch.manual_seed(0)
    plain = init_from_gguf(tiny_gguf, tiny_config())
    model = init_from_gguf(tiny_gguf, tiny_config(), speech_layers=2, freeze=True)
    c = model.config
    assert len(model.transformer.layers) == LAYERS + 2 and c.freeze_backbone
    x = torch.randn(1, 6, DIM)
    with torch.no_grad():  # the speech layers start as the identity
        assert torch.equal(model.transformer(x), plain.transformer(x))
    frozen = {k: v.clone() for k, v in model.transformer.layers[:LAYERS].state_dict().items()}
    speech = {k: v.clone() for k, v in model.transformer.layers[LAYERS:].state_dict().items()}
    codes = torch.randint(0, c.card, (2, c.num_streams, 8))
    codes[:, 0] = torch.randint(0, c.text_card, (2, 8))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(2):  # the identity start: step 1 moves the output projections, then all
        opt.zero_grad()
        out = model(codes)
        loss = F.cross_entropy(out.text_logits[out.text_mask], codes[:, :1][out.text_mask])
        loss = loss + F.cross_entropy(out.logits[out.mask], codes[:, 1 : c.dep_q + 1][out.mask])
        loss.backward()
        opt.step()
    after = model.transformer.layers[:LAYERS].state_dict()
    assert all(torch.equal(v, after[k]) for k, v in frozen.items())
    moved = model.transformer.layers[LAYERS:].state_dict()
    assert all(not torch.equal(v, moved[k]) for k, v in speech.items())


def test_cli_writes_a_loadable_checkpoint(tiny_gguf: Path, tmp_path: Path) -> None:
    out = tmp_path / "init"
    argv = ["lm", "init-from-gguf", str(out), "--gguf", str(tiny_gguf), "--base", "tiny"]
    code = cli_main([*argv, "--freeze", "--speech-layers", "1", "--dtype", "float32"])
    assert code == 0
    model = load_lm(out / "model.safetensors")
    c = model.config
    assert (c.speech_layers, c.freeze_backbone, c.qkv_bias, c.kv_repeat) == (1, True, True, 2)
    assert not (out / "config.json").exists()  # qkv biases etc.: no released layout
    fresh = init_from_gguf(tiny_gguf, tiny_config(), speech_layers=1, freeze=True)
    state = fresh.state_dict()
    backbone = [k for k in state if k.startswith("transformer.layers.0.")]
    assert backbone and all(torch.equal(model.state_dict()[k], state[k]) for k in backbone)
    assert not any(p.requires_grad for p in model.transformer.layers[0].parameters())
    assert all(p.requires_grad for p in model.transformer.layers[LAYERS].parameters())
    with pytest.raises(ConfigError, match="qkv_bias=True"):
        c.to_moshi()


def test_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "not.gguf"
    bad.write_bytes(b"definitely not a gguf file")
    assert cli_main(["lm", "init-from-gguf", str(tmp_path / "o"), "--gguf", str(bad)]) == 2
    assert "not.gguf" in capsys.readouterr().err
    missing = str(tmp_path / "missing.gguf")
    assert cli_main(["lm", "init-from-gguf", str(tmp_path / "o"), "--gguf", missing]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli_main(["lm", "init-from-gguf", str(tmp_path / "o"), "--base", "huge"]) == 2
    assert "--base huge" in capsys.readouterr().err


@pytest.mark.models
@pytest.mark.slow
def test_qwen25_backbone_agrees_with_llama_cpp() -> None:
    """The real Qwen2.5-Coder-0.5B (Q5_0/Q8_0/Q4_K/Q6_K): our temporal transformer, fed
    Qwen's token embeddings, with Qwen's output head on our final hidden states, against
    llama.cpp's logits. llama.cpp quantises the activations of its quantised matmuls too,
    so agreement is close, not exact: measured max |diff| 2.8 % of the largest logit,
    correlation >= 0.9992 per position, all top-1 tokens equal."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from antiphon.models import qwen_gguf

    path = qwen_gguf()  # `make setup` installs its packages: a missing part or bad sha256 fails
    llm = llama_cpp.Llama(str(path), logits_all=True, n_ctx=64, n_threads=2, verbose=False)
    tokens = llm.tokenize(b"def fibonacci(n):\n    return", add_bos=False)
    llm.eval(tokens)
    ref = torch.from_numpy(np.array(llm.scores[: len(tokens)], dtype=np.float32))
    del llm
    weights = GGUFWeights(path)
    assert set(weights.quant_types()) == {"F32", "Q5_0", "Q8_0", "Q4_K", "Q6_K"}
    base = tiny_config()
    torch.manual_seed(0)
    model: LMModel = init_from_gguf(weights, base).eval()
    c = model.config
    assert (c.dim, c.num_heads, c.kv_repeat, c.num_layers, c.ffn_hidden) == (896, 14, 7, 24, 4864)
    assert c.qkv_bias and c.max_period == 1e6
    emb = weights.tensor("token_embd.weight", torch.tensor(tokens))
    with torch.no_grad():
        ours = model.out_norm(model.transformer(emb[None]))[0] @ weights.output_head().T
    assert ours.argmax(-1).tolist() == ref.argmax(-1).tolist()
    corr = [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(ours.numpy(), ref.numpy(), strict=True)]
    assert min(corr) > 0.998
    assert float((ours - ref).abs().max()) < 0.05 * float(ref.abs().max())
