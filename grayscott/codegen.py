"""CUDA C source derived from the model itself, so our kernels cannot drift from it.

``model.react`` is pure ``+ - *`` arithmetic: calling it on symbols instead of numbers
prints its expression. The Laplacian is printed from the stencil weights. The fused
kernels (``cupy-fused``) compile what these functions return.
"""

from __future__ import annotations

from grayscott import model


class Sym:
    """A C expression that records the arithmetic applied to it."""

    def __init__(self, text: str, ctype: str = "float") -> None:
        self.text, self.ctype = text, ctype

    def _wrap(self, other: object) -> Sym:
        if isinstance(other, Sym):
            return other
        if isinstance(other, (int, float)):
            literal = repr(float(other))
            return Sym(literal + ("f" if self.ctype == "float" else ""), self.ctype)
        return NotImplemented

    def _op(self, op: str, other: object, reflected: bool = False) -> Sym:
        rhs = self._wrap(other)
        left, right = (rhs, self) if reflected else (self, rhs)
        return Sym(f"({left.text} {op} {right.text})", self.ctype)

    def __add__(self, other: object) -> Sym:
        return self._op("+", other)

    def __radd__(self, other: object) -> Sym:
        return self._op("+", other, reflected=True)

    def __sub__(self, other: object) -> Sym:
        return self._op("-", other)

    def __rsub__(self, other: object) -> Sym:
        return self._op("-", other, reflected=True)

    def __mul__(self, other: object) -> Sym:
        return self._op("*", other)

    def __rmul__(self, other: object) -> Sym:
        return self._op("*", other, reflected=True)


def react_source(ctype: str) -> tuple[str, str]:
    """C expressions for the new u and v of one cell, from ``model.react``.

    They read the locals ``uc, vc, lu, lv`` and the parameters ``du, dv, feed, kill, dt``.
    """
    names = ("uc", "vc", "lu", "lv", "du", "dv", "feed", "kill", "dt")
    u_new, v_new = model.react(*(Sym(n, ctype) for n in names))
    return u_new.text, v_new.text


def laplacian_source(array: str, stencil: model.Stencil, ctype: str) -> str:
    """C expression for the Laplacian of ``array`` at flat index ``c`` of a row of width ``w``."""
    terms = []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            weight = stencil[di + 1][dj + 1]
            if weight == 0:
                continue
            offset = {-1: "- w", 0: "", 1: "+ w"}[di] + {-1: " - 1", 0: "", 1: " + 1"}[dj]
            load = f"{array}[c {offset}]".replace("[c ]", "[c]").replace("  ", " ")
            suffix = "f" if ctype == "float" else ""
            terms.append(load if weight == 1 else f"{float(weight)!r}{suffix} * {load}")
    return " + ".join(terms) if terms else "0"


def step_kernel_source(stencil: model.Stencil, ctype: str) -> str:
    """One fused kernel: reads u, v once, writes the new u, v of every interior cell."""
    u_new, v_new = react_source(ctype)
    return f"""
extern "C" __global__ void gray_scott_step(
    const {ctype}* __restrict__ u, const {ctype}* __restrict__ v,
    {ctype}* __restrict__ u_out, {ctype}* __restrict__ v_out, const int rows, const int cols,
    const {ctype} du, const {ctype} dv, const {ctype} feed, const {ctype} kill, const {ctype} dt)
{{
    const int j = blockIdx.x * blockDim.x + threadIdx.x + 1;
    const int i = blockIdx.y * blockDim.y + threadIdx.y + 1;
    if (i > rows || j > cols) return;
    const int w = cols + 2;
    const int c = i * w + j;
    const {ctype} uc = u[c], vc = v[c];
    const {ctype} lu = {laplacian_source("u", stencil, ctype)};
    const {ctype} lv = {laplacian_source("v", stencil, ctype)};
    u_out[c] = {u_new};
    v_out[c] = {v_new};
}}
"""
